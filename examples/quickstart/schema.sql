-- The desired schema of every tenant of a small SaaS product.
-- schema-sync applies it to an in-memory SQLite database and inspects the result:
-- SQLite itself is the parser, so this file means exactly what SQLite means.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'team', 'enterprise')),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL COLLATE NOCASE,
    display_name TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    UNIQUE (organization_id, email)
);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    archived_at TEXT
);
CREATE INDEX projects_active ON projects (organization_id, name) WHERE archived_at IS NULL;

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    currency TEXT NOT NULL DEFAULT 'EUR',
    issued_at TEXT NOT NULL
);
CREATE INDEX invoices_by_month ON invoices (organization_id, substr(issued_at, 1, 7));

CREATE VIEW active_projects AS
    SELECT p.id, p.name, o.name AS organization
    FROM projects p JOIN organizations o ON o.id = p.organization_id
    WHERE p.archived_at IS NULL;
