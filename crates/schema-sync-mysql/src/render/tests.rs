//! Tests of the plan renderer: statement shape and the combining rules.

use schema_sync_core::snapshot::{
    CheckConstraint, DataType, ForeignKeyAction, Index, IndexPart, SchemaSnapshot, Sequence,
    TableOptions,
};
use schema_sync_core::testing::{TableBuilder, snapshot};
use schema_sync_core::{DefaultDiffCalculator, DefaultPlanner, DiffCalculator, Planner};

use super::*;

fn plan(from: &SchemaSnapshot, to: &SchemaSnapshot) -> MigrationPlan {
    let diff = DefaultDiffCalculator.diff(from, to);
    match DefaultPlanner.plan(from, to, &diff) {
        Ok(plan) => plan,
        Err(e) => panic!("{e}"),
    }
}

/// The context of a MariaDB tenant whose live schema is not needed.
fn mariadb() -> RenderContext<'static> {
    RenderContext {
        tenant: None,
        server: ServerInfo::parse("10.11.6-MariaDB"),
        live: None,
    }
}

fn render(plan: &MigrationPlan) -> Vec<RenderedStatement> {
    match render_plan(plan, &mariadb()) {
        Ok(statements) => statements,
        Err(e) => panic!("{e:?}"),
    }
}

/// Every step is carried out by exactly one statement.
fn assert_covers(plan: &MigrationPlan, statements: &[RenderedStatement]) {
    let mut covered: Vec<usize> = statements.iter().flat_map(|s| s.steps.clone()).collect();
    covered.sort_unstable();
    assert_eq!(covered, (0..plan.steps.len()).collect::<Vec<_>>());
}

fn users() -> TableBuilder {
    TableBuilder::new()
        .column("id", "integer", true)
        .column("email", "text", false)
        .primary_key(&["id"])
}

#[test]
fn one_table_changes_become_one_alter() {
    let from = snapshot([("users", users().build()), ("teams", users().build())]);
    let to = snapshot([
        (
            "users",
            users()
                .column("team_id", "integer", false)
                .index("ix_users_team", &["team_id"])
                .foreign_key("fk_users_team", &["team_id"], "teams", &["id"])
                .build(),
        ),
        ("teams", users().build()),
    ]);
    let plan = plan(&from, &to);
    let statements = render(&plan);
    assert_covers(&plan, &statements);
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(
        statements[0].sql,
        "ALTER TABLE `users` ADD COLUMN `team_id` INT NULL, ADD INDEX `ix_users_team` (`team_id`), \
         ADD CONSTRAINT `fk_users_team` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`)"
    );
}

#[test]
fn foreign_key_drops_come_first_in_their_own_statement() {
    let with_fk = |action| {
        let mut t = users()
            .column("team_id", "integer", false)
            .index("fk_users_team", &["team_id"])
            .foreign_key("fk_users_team", &["team_id"], "teams", &["id"])
            .build();
        if let Some(fk) = t.foreign_keys.get_mut("fk_users_team") {
            fk.on_delete = action;
        }
        t
    };
    let from = snapshot([
        ("users", with_fk(ForeignKeyAction::NoAction)),
        ("teams", users().build()),
    ]);
    let mut changed = with_fk(ForeignKeyAction::Cascade);
    changed.indexes.clear();
    changed.indexes.insert(
        "ix_team".into(),
        Index {
            parts: vec![IndexPart::column("team_id")],
            unique: false,
            method: None,
            predicate: None,
            include: Vec::new(),
            invisible: false,
            ..Default::default()
        },
    );
    let to = snapshot([("users", changed), ("teams", users().build())]);
    let plan = plan(&from, &to);
    let statements = render(&plan);
    assert_covers(&plan, &statements);
    let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        vec![
            "ALTER TABLE `users` DROP FOREIGN KEY `fk_users_team`",
            "ALTER TABLE `users` DROP INDEX `fk_users_team`, ADD INDEX `ix_team` (`team_id`), \
             ADD CONSTRAINT `fk_users_team` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`) ON DELETE CASCADE",
        ]
    );
}

#[test]
fn new_tables_carry_their_indexes_and_foreign_keys() {
    let from = snapshot([]);
    let mut tree = TableBuilder::new()
        .column("id", "integer", true)
        .column("parent", "integer", false)
        .column("tag", "varchar", false)
        .primary_key(&["id"])
        .index("ix_parent", &["parent"])
        .foreign_key("fk_parent", &["parent"], "tree", &["id"])
        .build();
    tree.options = TableOptions {
        engine: Some("InnoDB".into()),
        charset: Some("utf8mb4".into()),
        collation: Some("utf8mb4_bin".into()),
        ..TableOptions::default()
    };
    tree.comment = Some("it's a tree".into());
    if let Some(tag) = tree.columns.get_mut("tag") {
        tag.data_type = DataType::named("varchar").with_length(10);
        tag.default = Some("'x'".into());
    }
    tree.checks.insert(
        "chk_tag".into(),
        CheckConstraint {
            expression: "`tag` <> ''".into(),
            ..Default::default()
        },
    );
    let plan = plan(&from, &snapshot([("tree", tree)]));
    let statements = render(&plan);
    assert_covers(&plan, &statements);
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0].sql,
        "CREATE TABLE `tree` (\n  `id` INT NOT NULL,\n  `parent` INT NULL,\n  \
         `tag` VARCHAR(10) NULL DEFAULT 'x',\n  PRIMARY KEY (`id`),\n  INDEX `ix_parent` (`parent`),\n  \
         CONSTRAINT `chk_tag` CHECK (`tag` <> ''),\n  \
         CONSTRAINT `fk_parent` FOREIGN KEY (`parent`) REFERENCES `tree` (`id`)\n) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='it''s a tree'"
    );
}

#[test]
fn cyclic_foreign_keys_between_new_tables_are_split() {
    let a = TableBuilder::new()
        .column("id", "integer", true)
        .column("b_id", "integer", false)
        .primary_key(&["id"])
        .foreign_key("fk_a_b", &["b_id"], "b", &["id"])
        .build();
    let b = TableBuilder::new()
        .column("id", "integer", true)
        .column("a_id", "integer", false)
        .primary_key(&["id"])
        .foreign_key("fk_b_a", &["a_id"], "a", &["id"])
        .build();
    let plan = plan(&snapshot([]), &snapshot([("a", a), ("b", b)]));
    let statements = render(&plan);
    assert_covers(&plan, &statements);
    let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(sql.len(), 3, "{sql:#?}");
    assert!(sql[0].starts_with("CREATE TABLE `b`") && !sql[0].contains("FOREIGN KEY"));
    assert!(sql[1].starts_with("CREATE TABLE `a`") && sql[1].contains("`fk_a_b`"));
    assert!(sql[2].starts_with("ALTER TABLE `b` ADD CONSTRAINT `fk_b_a`"));
}

#[test]
fn hostile_identifiers_are_quoted() {
    let from = snapshot([]);
    let to = snapshot([(
        "we`ird; DROP",
        TableBuilder::new().column("c`ol", "integer", false).build(),
    )]);
    let plan = plan(&from, &to);
    let statements = render(&plan);
    assert_eq!(
        statements[0].sql,
        "CREATE TABLE `we``ird; DROP` (\n  `c``ol` INT NULL\n)"
    );
}

#[test]
fn dialect_differences_are_rendered() {
    let mut hidden = users().index("ix_email", &["email"]).build();
    if let Some(ix) = hidden.indexes.get_mut("ix_email") {
        ix.invisible = true;
    }
    let mut checked = users().build();
    checked.checks.insert(
        "chk".into(),
        CheckConstraint {
            expression: "`id` > 0".into(),
            ..Default::default()
        },
    );
    let from = snapshot([("users", checked)]);
    let to = snapshot([("users", hidden)]);
    let plan = plan(&from, &to);
    let mysql_context = RenderContext {
        server: ServerInfo::parse("8.0.36"),
        ..mariadb()
    };
    let maria = render_plan(&plan, &mariadb()).unwrap_or_default();
    let mysql = render_plan(&plan, &mysql_context).unwrap_or_default();
    assert_eq!(
        maria[0].sql,
        "ALTER TABLE `users` DROP CONSTRAINT `chk`, ADD INDEX `ix_email` (`email`) IGNORED"
    );
    assert_eq!(
        mysql[0].sql,
        "ALTER TABLE `users` DROP CHECK `chk`, ADD INDEX `ix_email` (`email`) INVISIBLE"
    );
}

#[test]
fn operations_mysql_lacks_are_refused_by_name() {
    let mut to = snapshot([]);
    to.sequences.insert(
        "counter".into(),
        Sequence {
            data_type: DataType::named("bigint"),
            start: 1,
            increment: 1,
            min_value: 1,
            max_value: i64::MAX,
            cache: 1,
            cycle: false,
            owned_by: None,
            comment: None,
        },
    );
    let sequence_plan = plan(&snapshot([]), &to);
    let mysql = RenderContext {
        server: ServerInfo::parse("8.0.36"),
        ..mariadb()
    };
    match render_plan(&sequence_plan, &mysql) {
        Err(Error::Unsupported {
            object, message, ..
        }) => {
            assert_eq!(object, "sequence counter");
            assert!(message.contains("AUTO_INCREMENT"));
        }
        other => panic!("rendered {other:?}"),
    }
    // MariaDB has sequences, but only bigint ones owned by no column.
    let maria = render_plan(&sequence_plan, &mariadb()).unwrap_or_default();
    assert_eq!(
        maria[0].sql,
        "CREATE SEQUENCE `counter` START WITH 1 MINVALUE 1 MAXVALUE 9223372036854775807 \
         INCREMENT BY 1 CACHE 1 NOCYCLE"
    );
    if let Some(s) = to.sequences.get_mut("counter") {
        s.data_type = DataType::named("integer");
    }
    match render_plan(&plan(&snapshot([]), &to), &mariadb()) {
        Err(Error::Unsupported { message, .. }) => assert!(message.contains("bigint")),
        other => panic!("rendered {other:?}"),
    }
    let mut array = users().build();
    if let Some(c) = array.columns.get_mut("email") {
        c.data_type.array_dimensions = 1;
    }
    let plan = plan(&snapshot([]), &snapshot([("users", array)]));
    match render_plan(&plan, &mariadb()) {
        Err(Error::Unsupported { object, .. }) => assert_eq!(object, "users.email"),
        other => panic!("rendered {other:?}"),
    }
}

#[test]
fn unsupported_operations_name_the_tenant_of_the_context() {
    let mut array = users().build();
    if let Some(c) = array.columns.get_mut("email") {
        c.data_type.array_dimensions = 1;
    }
    let plan = plan(&snapshot([]), &snapshot([("users", array)]));
    let tenant = match TenantId::new("acme") {
        Ok(tenant) => tenant,
        Err(e) => panic!("{e}"),
    };
    let context = RenderContext {
        tenant: Some(&tenant),
        ..mariadb()
    };
    match render_plan(&plan, &context) {
        Err(e @ Error::Unsupported { .. }) => assert_eq!(e.tenant(), Some(&tenant)),
        other => panic!("rendered {other:?}"),
    }
}

#[test]
fn dependent_statements_are_not_reordered_past_their_needs() {
    // users gains a column read by a new view: the ALTER must come before the view.
    let from = snapshot([("users", users().build())]);
    let mut to = snapshot([("users", users().column("name", "text", false).build())]);
    to.views.insert(
        "names".into(),
        schema_sync_core::snapshot::View {
            definition: "select `name` from `users`".into(),
            materialized: false,
            depends_on: ["users".to_string()].into(),
            comment: None,
            ..Default::default()
        },
    );
    let plan = plan(&from, &to);
    let statements = render(&plan);
    assert_covers(&plan, &statements);
    let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        vec![
            "ALTER TABLE `users` ADD COLUMN `name` TEXT NULL",
            "CREATE VIEW `names` AS select `name` from `users`",
        ]
    );
    let counts = statements_per_table(&statements, &plan);
    assert_eq!(counts.get("users"), Some(&1));
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn one_step(from: &SchemaSnapshot, operation: Operation) -> MigrationPlan {
    let mut plan = plan(from, from);
    plan.steps.push(schema_sync_core::plan::PlanStep {
        operation,
        destructive: false,
        hazards: Vec::new(),
        depends_on: Vec::new(),
        outside_transaction: false,
        algorithm: None,
    });
    plan
}

#[test]
fn moves_only_the_columns_outside_the_longest_ordered_run() {
    let to = names(&["a", "b", "c", "d", "e"]);
    assert!(moved_columns(&to, &to).is_empty());
    assert_eq!(
        moved_columns(&names(&["b", "c", "d", "e", "a"]), &to),
        ["a"]
    );
    assert_eq!(
        moved_columns(&names(&["e", "d", "c", "b", "a"]), &to).len(),
        4
    );
    assert_eq!(
        moved_columns(&names(&["c", "a", "d", "b", "e"]), &to).len(),
        2
    );
    // Moving each moved column after its predecessor in `to`, in `to` order, as the
    // server applies the clauses of one ALTER TABLE, gives `to`.
    for from in [
        names(&["c", "a", "d", "b", "e"]),
        names(&["e", "d", "c", "b", "a"]),
        names(&["b", "a", "d", "c", "e"]),
        names(&["a", "e", "b", "c", "d"]),
    ] {
        let mut order = from.clone();
        for name in moved_columns(&from, &to) {
            order.retain(|n| n != name);
            let at = match to.iter().position(|n| n == name) {
                Some(0) | None => 0,
                Some(i) => order
                    .iter()
                    .position(|n| *n == to[i - 1])
                    .map_or(0, |p| p + 1),
            };
            order.insert(at, name.to_string());
        }
        assert_eq!(order, to, "from {from:?}");
    }
}

#[test]
fn create_table_lists_columns_in_position_order_and_add_column_places_them() {
    let mut table = TableBuilder::new()
        .column("zeta", "integer", false)
        .column("alpha", "integer", true)
        .build();
    table.set_column_order(&names(&["zeta", "alpha"]));
    let from = SchemaSnapshot::empty();
    let to = snapshot([("t", table.clone())]);
    let statements = render(&plan(&from, &to));
    let sql = &statements[0].sql;
    let (zeta, alpha) = (sql.find("`zeta`"), sql.find("`alpha`"));
    assert!(zeta < alpha, "{sql}");

    let live = snapshot([("t", table)]);
    for (placement, tail) in [
        (ColumnPlacement::Last, "NULL"),
        (ColumnPlacement::First, "NULL FIRST"),
        (ColumnPlacement::After("zeta".into()), "NULL AFTER `zeta`"),
    ] {
        let add = one_step(
            &live,
            Operation::AddColumn {
                table: "t".into(),
                name: "mid".into(),
                column: Column::new(DataType::named("integer")),
                placement,
            },
        );
        let sql = &render(&add)[0].sql;
        assert!(
            sql.ends_with(&format!("ADD COLUMN `mid` INT {tail}")),
            "{sql}"
        );
    }
}

#[test]
fn reorder_restates_moved_columns_after_their_predecessor() {
    let table = TableBuilder::new()
        .column("c", "integer", true)
        .column("a", "integer", false)
        .column("b", "text", true)
        .build();
    let live = snapshot([("t", table.clone())]);
    let mut columns = table.columns.clone();
    if let Some(b) = columns.get_mut("b") {
        b.comment = Some("kept".into());
        b.default = Some("'x'".into());
    }
    let reorder = one_step(
        &live,
        Operation::ReorderColumns {
            table: "t".into(),
            from: names(&["c", "a", "b"]),
            to: names(&["a", "b", "c"]),
            columns,
            required: true,
        },
    );
    let statements = render(&reorder);
    assert_eq!(
        statements[0].sql,
        "ALTER TABLE `t` MODIFY COLUMN `c` INT NOT NULL AFTER `b`"
    );
    let first = one_step(
        &live,
        Operation::ReorderColumns {
            table: "t".into(),
            from: names(&["a", "b", "c"]),
            to: names(&["c", "a", "b"]),
            columns: table.columns.clone(),
            required: true,
        },
    );
    assert_eq!(
        render(&first)[0].sql,
        "ALTER TABLE `t` MODIFY COLUMN `c` INT NOT NULL FIRST"
    );
}

#[test]
fn a_column_changed_and_moved_is_restated_once() {
    let table = TableBuilder::new()
        .column("b", "integer", true)
        .column("a", "integer", true)
        .build();
    let live = snapshot([("t", table.clone())]);
    let mut columns = table.columns.clone();
    let mut wider = Column::new(DataType::named("bigint"));
    wider.nullable = false;
    columns.insert("a".into(), wider.clone());
    let mut plan = one_step(
        &live,
        Operation::AlterColumn {
            table: "t".into(),
            name: "a".into(),
            from: table.columns["a"].clone(),
            to: wider,
        },
    );
    plan.steps.push(schema_sync_core::plan::PlanStep {
        operation: Operation::ReorderColumns {
            table: "t".into(),
            from: names(&["b", "a"]),
            to: names(&["a", "b"]),
            columns,
            required: true,
        },
        destructive: false,
        hazards: Vec::new(),
        depends_on: Vec::new(),
        outside_transaction: false,
        algorithm: None,
    });
    let statements = render(&plan);
    assert_covers(&plan, &statements);
    assert_eq!(
        statements[0].sql,
        "ALTER TABLE `t` MODIFY COLUMN `a` BIGINT NOT NULL FIRST"
    );
}

#[test]
fn postgres_only_options_policies_and_trigger_states_are_refused() {
    use schema_sync_core::snapshot::{Policy, Trigger, TriggerEnabled};
    let from = snapshot([("users", users().build())]);
    let changes: [fn(&mut Table); 6] = [
        |t| t.options.row_security = true,
        |t| t.options.force_row_security = true,
        |t| t.options.unlogged = true,
        |t| {
            t.options
                .storage_parameters
                .insert("fillfactor".into(), "70".into());
        },
        |t| {
            t.policies.insert("p".into(), Policy::default());
        },
        |t| {
            t.triggers.insert(
                "tr".into(),
                Trigger {
                    definition:
                        "CREATE TRIGGER tr BEFORE INSERT ON users FOR EACH ROW SET NEW.id = 1"
                            .into(),
                    enabled: TriggerEnabled::Disabled,
                    comment: None,
                },
            );
        },
    ];
    for (i, change) in changes.iter().enumerate() {
        let mut changed = users().build();
        change(&mut changed);
        // Both on an existing table and on a new one.
        for (from, to) in [
            (from.clone(), snapshot([("users", changed.clone())])),
            (snapshot([]), snapshot([("users", changed.clone())])),
        ] {
            let plan = plan(&from, &to);
            let rendered = render_plan(&plan, &mariadb());
            assert!(
                matches!(rendered, Err(Error::Unsupported { .. })),
                "change {i}: {rendered:?}"
            );
        }
    }
}

#[test]
fn routines_events_and_sequences_are_dropped_created_and_commented() {
    use schema_sync_core::snapshot::{Event, Function};
    let routine = |body: &str| Function {
        definition: format!(
            "CREATE PROCEDURE `p`() NOT DETERMINISTIC CONTAINS SQL SQL SECURITY DEFINER\n{body}"
        ),
        comment: Some("it's p".into()),
    };
    let mut from = snapshot([]);
    from.functions
        .insert("procedure p".into(), routine("SELECT 1"));
    from.functions.insert("f".into(), Function::default());
    from.events.insert(
        "e".into(),
        Event {
            definition: "CREATE EVENT `e` ON SCHEDULE AT '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO SELECT 1".into(),
        },
    );
    let mut to = snapshot([]);
    to.functions
        .insert("procedure p".into(), routine("SELECT 2"));
    to.events.insert(
        "e".into(),
        Event {
            definition: "CREATE EVENT `e` ON SCHEDULE AT '2031-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO SELECT 1".into(),
        },
    );
    let plan = plan(&from, &to);
    // MySQL 8 renders the same statements: the definitions carry no MariaDB syntax there.
    for version in ["10.11.6-MariaDB", "8.0.36"] {
        let context = RenderContext {
            server: ServerInfo::parse(version),
            ..mariadb()
        };
        let sql: Vec<String> = render_plan(&plan, &context)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(
            sql,
            [
                "DROP FUNCTION IF EXISTS `f`",
                "DROP PROCEDURE IF EXISTS `p`",
                "DROP EVENT IF EXISTS `e`",
                "CREATE PROCEDURE `p`() NOT DETERMINISTIC CONTAINS SQL SQL SECURITY DEFINER\nSELECT 2",
                "CREATE EVENT `e` ON SCHEDULE AT '2031-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO SELECT 1",
                "ALTER PROCEDURE `p` COMMENT 'it''s p'",
            ],
            "{version}"
        );
    }
}

#[test]
fn create_options_are_declared_and_reset() {
    let declared = TableOptions {
        engine: Some("InnoDB".into()),
        row_format: Some("COMPRESSED".into()),
        key_block_size: Some(8),
        stats_persistent: Some(true),
        stats_sample_pages: Some(20),
        ..TableOptions::default()
    };
    let mut table = users().build();
    table.options = declared.clone();
    let created = render(&plan(&snapshot([]), &snapshot([("users", table.clone())])));
    assert!(
        created[0].sql.ends_with(
            ") ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8 STATS_PERSISTENT=1 STATS_SAMPLE_PAGES=20"
        ),
        "{}",
        created[0].sql
    );
    let mut aria = table.clone();
    aria.options = TableOptions {
        engine: Some("Aria".into()),
        transactional: Some(true),
        page_checksum: Some(false),
        stats_persistent: Some(false),
        ..TableOptions::default()
    };
    let plan = plan(&snapshot([("users", table)]), &snapshot([("users", aria)]));
    assert!(
        plan.steps[0]
            .hazards
            .contains(&schema_sync_core::plan::Hazard::TableRewrite)
    );
    assert_eq!(
        render(&plan)[0].sql,
        "ALTER TABLE `users` ENGINE = Aria, ROW_FORMAT = DEFAULT, KEY_BLOCK_SIZE = 0, \
         STATS_PERSISTENT = 0, STATS_SAMPLE_PAGES = DEFAULT, TRANSACTIONAL = 1, PAGE_CHECKSUM = 0"
    );
    // Statistics options alone change the catalog only.
    let stats = |pages| TableOptions {
        stats_sample_pages: pages,
        ..declared.clone()
    };
    let mut a = users().build();
    a.options = stats(Some(20));
    let mut b = users().build();
    b.options = stats(Some(40));
    let plan = self::plan(&snapshot([("users", a)]), &snapshot([("users", b)]));
    assert!(plan.steps[0].hazards.is_empty());
    assert_eq!(
        render(&plan)[0].sql,
        "ALTER TABLE `users` STATS_SAMPLE_PAGES = 40"
    );
}
