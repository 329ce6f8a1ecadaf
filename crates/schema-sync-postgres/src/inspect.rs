//! The inspector: catalog rows of a batch of tenant schemas to tenant-relative snapshots.
//!
//! [`inspect_schemas`] reads a whole batch with the queries of [`crate::catalog`]
//! (four round trips whatever the batch size, five when foreign keys point into other
//! schemas) and assembles one [`SchemaSnapshot`] per
//! schema. The tenant's own schema name never enters a snapshot: relation and type
//! references are resolved through oids, and deparsed text is produced with
//! `search_path` set to the tenant, so a clone of a template inspects byte-identical to
//! the template and to the snapshot loaded from the same SQL.
//!
//! Partitioned tables and their partitions are tables; a partition carries only what is
//! its own, not the columns, constraints, indexes and triggers it inherits
//! (`inspect/partitions.rs`). Domains are read with their checks (`inspect/domains.rs`).
//!
//! What the model has no place for (exclusion constraints, rules, table inheritance,
//! comments on the index of a constraint or on an identity sequence, ...) is listed in
//! [`SchemaSnapshot::unsupported`], never dropped silently. What would vanish with a
//! modelled table or view (rules, triggers on views, view options, statistics objects,
//! and anything
//! else `pg_depend` ties to it automatically) names it as its parent
//! ([`UnsupportedObject::dependent_of`]), so a plan that drops or recreates the parent
//! can be refused. Grants are not reported: a recreated view gets them back (see
//! `catalog/privileges.rs`). A materialized view's indexes are modelled with it
//! ([`View::indexes`]), read exactly as a table's are.

use std::collections::{BTreeSet, HashMap, HashSet};

use schema_sync_core::snapshot::{
    CheckConstraint, Column, DataType, Deferrable, EnumType, Extension, ForeignKey,
    ForeignKeyAction, Function, Generated, Identity, Index, IndexPart, KeyOptions, Policy,
    PolicyCommand, PrimaryKey, SchemaSnapshot, Sequence, Table, TableOptions, Trigger,
    TriggerEnabled, UniqueConstraint, UnsupportedObject, View,
};
use schema_sync_core::{Error, Phase, Result, TenantContext, TenantId};

use crate::PostgresAdapter;
use crate::catalog::{
    self, CatalogClient, ColumnRow, ConstraintRow, DeparseRequest, Deparsed, IndexRow, PgResult,
    PolicyRow, Relation, RelationParts, SchemaObjects, SequenceRow, TypeRow, strip_qualifier,
};
use crate::error;
use crate::sql::relative::relativize_function;
use crate::sql::{operator_class_text, qualified_collation};
use crate::types::{CatalogType, normalize};
pub(crate) use shapes::ShapeCache;
use shapes::Shapes;

/// A relation's name, namespace oid and schema name.
type RelationName = (String, u32, String);

/// The oid of `pg_catalog`, fixed in every PostgreSQL installation.
const PG_CATALOG: u32 = 11;

/// Inspects `schemas` (schema names) and returns one snapshot per name, aligned with the
/// input; `None` where the schema does not exist. Must run inside a transaction, in which
/// it leaves only `pg_catalog` on `search_path`.
///
/// # Errors
/// A driver error; it concerns the whole batch.
pub(crate) async fn inspect_schemas(
    client: CatalogClient<'_>,
    server_version: i32,
    schemas: &[String],
    shape_cache: Option<&ShapeCache>,
) -> PgResult<Vec<Option<SchemaSnapshot>>> {
    client.apply_read_settings().await?;
    let found = catalog::namespaces(client, schemas).await?;
    let namespace_oids: Vec<u32> = found.iter().map(|(oid, _)| *oid).collect();
    let objects = catalog::schema_objects(client, &namespace_oids).await?;

    let kinds = |wanted: &[&str]| -> Vec<u32> {
        objects
            .relations
            .iter()
            .filter(|r| wanted.contains(&r.kind.as_str()))
            .map(|r| r.oid)
            .collect()
    };
    // Partitioned tables and partitions are tables like any other.
    let tables = kinds(&["r", "p"]);
    let views = kinds(&["v", "m"]);
    let sequences = kinds(&["S"]);
    let mut with_parts = tables.clone();
    with_parts.extend(&views);
    let parts = catalog::relation_parts(
        client,
        server_version,
        &tables,
        &with_parts,
        &views,
        &sequences,
    )
    .await?;

    let namespace_of: HashMap<u32, u32> = objects
        .relations
        .iter()
        .map(|r| (r.oid, r.namespace))
        .collect();
    let mut requests: HashMap<u32, DeparseRequest> = found
        .iter()
        .map(|(oid, name)| {
            let request = DeparseRequest {
                namespace: *oid,
                schema: name.clone(),
                ..DeparseRequest::default()
            };
            (*oid, request)
        })
        .collect();
    for (list, pick) in [(&tables, 0), (&views, 1)] {
        for oid in list {
            if let Some(r) = namespace_of.get(oid).and_then(|ns| requests.get_mut(ns)) {
                if pick == 0 {
                    r.tables.push(*oid)
                } else {
                    r.views.push(*oid)
                }
            }
        }
    }
    for routine in objects.routines.iter().filter(|r| r.kind != "a") {
        if let Some(r) = requests.get_mut(&routine.namespace) {
            r.routines.push(routine.oid);
        }
    }
    for domain in &objects.domains {
        if let Some(r) = requests.get_mut(&domain.namespace) {
            r.domains.push(domain.oid);
        }
    }
    // Only one tenant of each shape is deparsed; the others get its text, and a shape
    // an earlier batch deparsed is not deparsed again. A lone tenant (the inspections
    // under a sync's lock) is its own shape: reading its raw rows costs more than the
    // deparse they could save.
    let grouped = namespace_oids.len() > 1;
    let mut shapes = if grouped {
        let relation_oids: Vec<u32> = objects.relations.iter().map(|r| r.oid).collect();
        Shapes::group(catalog::raw_rows(client, &namespace_oids, &relation_oids).await?)
    } else {
        Shapes::group(Vec::new())
    };
    let shape_cache = shape_cache.filter(|_| grouped);
    if let Some(cache) = shape_cache {
        shapes.consult(cache);
    }
    let requests: Vec<DeparseRequest> = requests
        .into_values()
        .map(|request| shapes.narrow(request))
        .collect();
    let mut deparsed = catalog::deparse(client.client(), &requests).await?;
    if let Some(cache) = shape_cache {
        shapes.remember(cache, &deparsed);
    }
    shapes.hand_over(&mut deparsed);

    let mut column_names: HashMap<(u32, i16), String> = parts
        .columns
        .iter()
        .map(|c| ((c.table, c.number), c.name.clone()))
        .collect();
    let constraint_indexes: HashSet<u32> = parts
        .constraints
        .iter()
        .filter(|c| matches!(c.kind.as_str(), "p" | "u" | "x"))
        .map(|c| c.index_oid)
        .collect();
    // Every relation a snapshot may name: the batch's own, and foreign key targets in
    // other schemas (read separately, only when there are any).
    let schema_names: HashMap<u32, &str> =
        found.iter().map(|(oid, n)| (*oid, n.as_str())).collect();
    let mut relation_names: HashMap<u32, RelationName> = objects
        .relations
        .iter()
        .map(|r| {
            let schema = schema_names.get(&r.namespace).copied().unwrap_or_default();
            (r.oid, (r.name.clone(), r.namespace, schema.to_string()))
        })
        .collect();
    let own_tables: HashSet<u32> = tables.iter().copied().collect();
    let mut external: Vec<u32> = parts
        .constraints
        .iter()
        .filter(|c| c.kind == "f")
        .map(|c| c.referenced_relation)
        .filter(|oid| !own_tables.contains(oid))
        .collect();
    external.sort_unstable();
    external.dedup();
    for (oid, name, namespace, schema, number, column) in
        catalog::external_relations(client, &external).await?
    {
        relation_names.insert(oid, (name, namespace, schema));
        column_names.insert((oid, number), column);
    }
    let parts_by_namespace = parts.split(&namespace_of);
    let no_parts = RelationParts::default();
    let indexes: HashMap<u32, &IndexRow> = parts_by_namespace
        .values()
        .flat_map(|p| &p.indexes)
        .map(|i| (i.oid, i))
        .collect();
    let relations_by_oid: HashMap<u32, &Relation> =
        objects.relations.iter().map(|r| (r.oid, r)).collect();
    let by_name: HashMap<&str, u32> = found.iter().map(|(oid, n)| (n.as_str(), *oid)).collect();
    Ok(schemas
        .iter()
        .map(|schema| {
            by_name.get(schema.as_str()).map(|ns| {
                let text = deparsed.remove(ns).unwrap_or_default();
                Assembler {
                    namespace: *ns,
                    schema,
                    objects: &objects,
                    parts: parts_by_namespace.get(ns).unwrap_or(&no_parts),
                    text: &text,
                    column_names: &column_names,
                    constraint_indexes: &constraint_indexes,
                    indexes: &indexes,
                    relation_names: &relation_names,
                    relations: &relations_by_oid,
                    snapshot: SchemaSnapshot::empty(),
                }
                .build()
            })
        })
        .collect())
}

/// Builds one tenant's snapshot from the batch's rows.
struct Assembler<'a> {
    namespace: u32,
    /// The tenant's schema name (only to make function definitions relative).
    schema: &'a str,
    objects: &'a SchemaObjects,
    parts: &'a RelationParts,
    text: &'a Deparsed,
    /// Column names by `(table, attnum)`, for constraint and index keys.
    column_names: &'a HashMap<(u32, i16), String>,
    /// Indexes that back a primary key, unique or exclusion constraint.
    constraint_indexes: &'a HashSet<u32>,
    /// Index rows by index oid.
    indexes: &'a HashMap<u32, &'a IndexRow>,
    /// Names of every relation a foreign key may reference.
    relation_names: &'a HashMap<u32, RelationName>,
    /// The batch's relations (indexes included) by oid.
    relations: &'a HashMap<u32, &'a Relation>,
    snapshot: SchemaSnapshot,
}

impl Assembler<'_> {
    fn unsupported(&mut self, kind: &str, name: impl Into<String>) {
        self.snapshot
            .unsupported
            .insert(UnsupportedObject::new(kind, name));
    }

    /// An unmodelled object that would vanish with the table or view `parent`.
    fn dependent(&mut self, kind: &str, name: impl Into<String>, parent: &str) {
        self.snapshot
            .unsupported
            .insert(UnsupportedObject::dependent_of(kind, name, parent));
    }

    /// The names of columns `numbers` of `table` (`None` for an expression, number 0).
    fn column_names(&self, table: u32, numbers: &[i16]) -> Vec<Option<String>> {
        numbers
            .iter()
            .map(|n| self.column_names.get(&(table, *n)).cloned())
            .collect()
    }

    /// A collation or operator class name, tenant-relative: bare when it lives in
    /// `pg_catalog` or the tenant's schema, `"schema"."name"` otherwise.
    fn relative_name(&self, namespace: Option<u32>, schema: Option<&str>, name: &str) -> String {
        match (namespace, schema) {
            (Some(ns), Some(schema)) if ns != PG_CATALOG && ns != self.namespace => {
                qualified_collation(schema, name)
            }
            _ => name.to_string(),
        }
    }

    fn text(&self, kind: char, oid: u32, number: i32) -> Option<String> {
        let text = self.text.get(&(kind, oid, number))?;
        match self.text.get(&('u', 0, 0)) {
            Some(qualifier) if kind != 'q' => Some(strip_qualifier(text, qualifier)),
            _ => Some(text.clone()),
        }
    }

    fn build(mut self) -> SchemaSnapshot {
        let ns = self.namespace;
        let objects = self.objects;
        let parts = self.parts;
        // The tenant's relations by oid: (name, kind).
        let relations: HashMap<u32, (&str, &str)> = objects
            .relations
            .iter()
            .filter(|r| r.namespace == ns)
            .map(|r| (r.oid, (r.name.as_str(), r.kind.as_str())))
            .collect();
        for r in objects.relations.iter().filter(|r| r.namespace == ns) {
            let name = r.name.clone();
            let modelled_table = r.kind == "r" || r.kind == "p";
            if r.kind == "f" {
                self.unsupported("foreign table", name.clone());
            }
            if modelled_table {
                if r.inherits && !r.partition {
                    self.unsupported("table inheritance", name.clone());
                }
                if r.typed {
                    self.unsupported("typed table", name.clone());
                }
                let Some(partitioning) = self.partitioning(r) else {
                    continue;
                };
                let table = Table {
                    comment: r.comment.clone(),
                    options: table_options(r),
                    partition_by: partitioning.by,
                    partition_of: partitioning.of,
                    ..Table::default()
                };
                self.snapshot.tables.insert(name, table);
            } else if r.kind == "v" || r.kind == "m" {
                if r.has_options {
                    // Recreating the view from its definition would drop them.
                    self.dependent("view options", name.clone(), &name);
                }
                self.add_view(r.oid, name, r.kind == "m", r.comment.clone(), &relations);
            }
        }
        for c in parts.columns.iter() {
            // A partition's columns are its partitioned table's; columns of materialized
            // views are read only to name their index keys.
            if let Some((table, kind)) = relations.get(&c.table)
                && is_table(kind)
                && !self.is_partition(c.table)
            {
                self.add_column(table, c);
            }
        }
        // Positions were catalog ordinals (attnum, with gaps where columns were
        // dropped); a clone and the template must number alike.
        for table in self.snapshot.tables.values_mut() {
            table.renumber_columns();
        }
        for c in parts.constraints.iter() {
            if let Some((table, _)) = relations.get(&c.table)
                && !self.inherited_constraint(c)
            {
                self.add_constraint(table, c);
            }
        }
        for i in parts.indexes.iter() {
            if let Some((table, kind)) = relations.get(&i.table)
                && !self.is_partition(i.oid)
            {
                self.add_index(table, kind, i);
            }
        }
        for t in parts.triggers.iter() {
            if let Some((table, kind)) = relations.get(&t.table) {
                if t.cloned {
                    // A partition's copy of its partitioned table's trigger.
                    continue;
                }
                let label = format!("{table}.{}", t.name);
                if !is_table(kind) {
                    self.dependent("trigger on a view", label, table);
                    continue;
                }
                let definition = self.text('t', t.oid, 0).unwrap_or_default();
                if let Some(entry) = self.snapshot.tables.get_mut(*table) {
                    entry.triggers.insert(
                        t.name.clone(),
                        Trigger {
                            definition,
                            enabled: trigger_enabled(&t.enabled),
                            comment: t.comment.clone(),
                        },
                    );
                }
            }
        }
        for c in &parts.view_column_comments {
            if let Some((view, _)) = relations.get(&c.view)
                && let Some(entry) = self.snapshot.views.get_mut(*view)
            {
                entry
                    .column_comments
                    .insert(c.column.clone(), c.comment.clone());
            }
        }
        for s in parts.sequences.iter() {
            if let Some((name, _)) = relations.get(&s.oid) {
                self.add_sequence(name, s, &relations);
            }
        }
        for (relation, rule) in &parts.rules {
            if let Some((table, _)) = relations.get(relation) {
                self.dependent("rule", format!("{table}.{rule}"), table);
            }
        }
        for p in &parts.policies {
            if let Some((table, _)) = relations.get(&p.table) {
                self.add_policy(table, p);
            }
        }
        for d in &parts.dependents {
            if let Some((table, _)) = relations.get(&d.parent) {
                let name = if d.qualifier.is_empty() {
                    d.identity.clone()
                } else {
                    strip_qualifier(&d.identity, &d.qualifier)
                };
                self.dependent(&d.kind, format!("{table}: {name}"), table);
            }
        }
        self.add_schema_objects();
        // The versioned-migration history is bookkeeping, not schema.
        schema_sync_core::migrate::strip_history_table(&mut self.snapshot);
        self.snapshot
    }

    fn add_view(
        &mut self,
        oid: u32,
        name: String,
        materialized: bool,
        comment: Option<String>,
        relations: &HashMap<u32, (&str, &str)>,
    ) {
        let definition = self
            .text('v', oid, 0)
            .map(|d| d.trim().trim_end_matches(';').trim_end().to_string())
            .unwrap_or_default();
        let depends_on: BTreeSet<String> = self
            .parts
            .view_dependencies
            .iter()
            .filter(|(view, _)| *view == oid)
            .filter_map(|(_, reads)| relations.get(reads))
            .filter(|(_, kind)| ["r", "p", "v", "m", "f"].contains(kind))
            .map(|(n, _)| n.to_string())
            .collect();
        self.snapshot.views.insert(
            name,
            View {
                definition,
                materialized,
                depends_on,
                comment,
                ..Default::default()
            },
        );
    }

    fn add_column(&mut self, table: &str, c: &ColumnRow) {
        let (data_type, collation) = self.data_type(&c.ty, &format!("{table}.{}", c.name));
        let expression = self.text('d', c.table, i32::from(c.number));
        let (default, generated) = if c.generated == "s" {
            (
                None,
                Some(Generated {
                    expression: expression.unwrap_or_default(),
                    stored: true,
                }),
            )
        } else {
            (expression, None)
        };
        let column = Column {
            position: u32::try_from(c.number).unwrap_or(0),
            data_type,
            nullable: !c.not_null,
            default,
            identity: match c.identity.as_str() {
                "a" => Some(Identity::Always),
                "d" => Some(Identity::ByDefault),
                _ => None,
            },
            generated,
            collation,
            on_update: None,
            comment: c.comment.clone(),
            invisible: false,
            compressed: false,
            srid: None,
        };
        if let Some(t) = self.snapshot.tables.get_mut(table) {
            t.columns.insert(c.name.clone(), column);
        }
    }

    /// A type as the snapshot names it (tenant types unqualified; a modifier the model
    /// cannot hold is reported as `column type` of `label`), and its collation: bare
    /// when it is `pg_catalog`'s or the tenant's, qualified when it lives in another
    /// schema.
    fn data_type(&mut self, t: &TypeRow, label: &str) -> (DataType, Option<String>) {
        let schema = (t.type_namespace != self.namespace).then_some(t.type_schema.as_str());
        let (data_type, loss) = normalize(&CatalogType {
            name: &t.type_name,
            schema,
            array_dimensions: if t.is_array {
                u8::try_from(t.dimensions.max(1)).unwrap_or(u8::MAX)
            } else {
                0
            },
            typmod: t.typmod,
            formatted: &t.formatted,
        });
        if let Some(loss) = loss {
            self.unsupported("column type", format!("{label}: {}", loss.0));
        }
        let collation =
            t.collation
                .as_ref()
                .map(|name| match (t.collation_namespace, &t.collation_schema) {
                    (Some(ns), Some(schema)) if ns != PG_CATALOG && ns != self.namespace => {
                        qualified_collation(schema, name)
                    }
                    _ => name.clone(),
                });
        (data_type, collation)
    }

    fn add_constraint(&mut self, table: &str, c: &ConstraintRow) {
        let label = format!("{table}.{}", c.name);
        let comment = c.comment.clone();
        let names = |list: &[Option<String>]| -> Vec<String> {
            list.iter().map(|n| n.clone().unwrap_or_default()).collect()
        };
        let deferrable = match (c.deferrable, c.deferred) {
            (false, _) => Deferrable::NotDeferrable,
            (true, false) => Deferrable::InitiallyImmediate,
            (true, true) => Deferrable::InitiallyDeferred,
        };
        let index = self.indexes.get(&c.index_oid).filter(|_| c.kind != "f");
        if index.is_some_and(|i| i.has_include) {
            self.unsupported("constraint include columns", label.clone());
        }
        let expression = self.text('c', c.oid, 0);
        let columns = self.column_names(c.table, &c.column_numbers);
        let referenced_columns = self.column_names(c.referenced_relation, &c.referenced_numbers);
        let delete_set_columns = self.column_names(c.table, &c.delete_set_numbers);
        let Some(t) = self.snapshot.tables.get_mut(table) else {
            return;
        };
        match c.kind.as_str() {
            "p" => {
                t.primary_key = Some(PrimaryKey {
                    name: Some(c.name.clone()),
                    columns: names(&columns),
                    comment,
                });
                if c.deferrable {
                    self.unsupported("deferrable primary key", label);
                }
            }
            "u" => {
                t.uniques.insert(
                    c.name.clone(),
                    UniqueConstraint {
                        columns: names(&columns),
                        nulls_not_distinct: index.is_some_and(|i| i.nulls_not_distinct),
                        deferrable,
                        comment,
                    },
                );
            }
            "c" => {
                t.checks.insert(
                    c.name.clone(),
                    CheckConstraint {
                        expression: expression.unwrap_or_default(),
                        not_valid: !c.validated,
                        comment,
                    },
                );
            }
            "f" => {
                let (referenced_table, referenced_schema) =
                    match self.relation_names.get(&c.referenced_relation) {
                        Some((name, ns, _)) if *ns == self.namespace => (name.clone(), None),
                        Some((name, _, schema)) => (name.clone(), Some(schema.clone())),
                        None => (String::new(), None),
                    };
                t.foreign_keys.insert(
                    c.name.clone(),
                    ForeignKey {
                        columns: names(&columns),
                        referenced_schema,
                        referenced_table,
                        referenced_columns: names(&referenced_columns),
                        on_delete: action(&c.on_delete),
                        on_update: action(&c.on_update),
                        deferrable,
                        match_full: c.match_full,
                        delete_set_columns: names(&delete_set_columns),
                        not_valid: !c.validated,
                        comment,
                    },
                );
            }
            "x" => self.dependent("exclusion constraint", label, table),
            // Constraint triggers are reported with the triggers.
            _ => {}
        }
    }

    /// Adds an index to its table, or to its materialized view (`kind` `m`).
    fn add_index(&mut self, table: &str, kind: &str, i: &IndexRow) {
        let Some(relation) = self.relations.get(&i.oid).copied() else {
            return;
        };
        let label = format!("{table}.{}", relation.name);
        if self.constraint_indexes.contains(&i.oid) {
            // The model keeps a key's comment on the constraint, not on its index.
            if relation.comment.is_some() {
                self.unsupported("comment", format!("index {label} of a constraint"));
            }
            return;
        }
        let key_count = usize::try_from(i.key_count).unwrap_or(0);
        let columns = self.column_names(i.table, &i.column_numbers);
        let mut parts = Vec::with_capacity(key_count);
        for k in 0..key_count {
            let option = i.options.get(k).copied().unwrap_or(0);
            let descending = option & 1 != 0;
            let nulls_first = option & 2 != 0;
            let mut options = self.key_options(i.oid, k);
            // NULLS FIRST is the default for DESC, NULLS LAST for ASC.
            options.nulls_first = (nulls_first != descending).then_some(nulls_first);
            parts.push(match columns.get(k).cloned().flatten() {
                Some(name) => IndexPart::Column {
                    name,
                    descending,
                    prefix_length: None,
                    options,
                },
                None => IndexPart::Expression {
                    sql: self
                        .text('k', i.oid, i32::try_from(k + 1).unwrap_or(i32::MAX))
                        .unwrap_or_default(),
                    descending,
                    options,
                },
            });
        }
        let index = Index {
            parts,
            unique: i.unique,
            method: (relation.method != "btree").then(|| relation.method.clone()),
            predicate: self.text('w', i.oid, 0),
            include: columns
                .iter()
                .skip(key_count)
                .map(|c| c.clone().unwrap_or_default())
                .collect(),
            invisible: false,
            nulls_not_distinct: i.nulls_not_distinct,
            storage_parameters: i
                .storage_parameters
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((name, value)) => (name.to_string(), value.to_string()),
                    None => (p.clone(), String::new()),
                })
                .collect(),
            comment: relation.comment.clone(),
            parser: None,
        };
        let indexes = if kind == "m" {
            self.snapshot.views.get_mut(table).map(|v| &mut v.indexes)
        } else {
            self.snapshot.tables.get_mut(table).map(|t| &mut t.indexes)
        };
        if let Some(indexes) = indexes {
            indexes.insert(relation.name.clone(), index);
        }
    }

    /// The operator class (with its parameters) and collation of key `k` (from 0) of
    /// `index`, when they are not the defaults; the nulls order is left to the caller.
    fn key_options(&self, index: u32, k: usize) -> KeyOptions {
        let Some(key) = self
            .parts
            .index_keys
            .iter()
            .find(|r| r.index == index && usize::try_from(r.key).ok() == Some(k))
        else {
            return KeyOptions::default();
        };
        let operator_class = key.operator_class.as_ref().map(|name| {
            let name = self.relative_name(
                Some(key.operator_class_namespace),
                Some(&key.operator_class_schema),
                name,
            );
            operator_class_text(&name, &key.parameters)
        });
        let collation = key.collation.as_ref().map(|name| {
            self.relative_name(
                key.collation_namespace,
                key.collation_schema.as_deref(),
                name,
            )
        });
        KeyOptions {
            operator_class,
            collation,
            nulls_first: None,
        }
    }

    fn add_policy(&mut self, table: &str, p: &PolicyRow) {
        let command = match p.command.as_str() {
            "r" => PolicyCommand::Select,
            "a" => PolicyCommand::Insert,
            "w" => PolicyCommand::Update,
            "d" => PolicyCommand::Delete,
            _ => PolicyCommand::All,
        };
        let policy = Policy {
            command,
            restrictive: !p.permissive,
            roles: p.roles.clone(),
            using: self.text('p', p.oid, 0),
            with_check: self.text('p', p.oid, 1),
            comment: p.comment.clone(),
        };
        match self.snapshot.tables.get_mut(table) {
            Some(t) => {
                t.policies.insert(p.name.clone(), policy);
            }
            // Only on a table the model has no place for (a partition, say).
            None => self.dependent("policy", format!("{table}.{}", p.name), table),
        }
    }

    fn add_sequence(
        &mut self,
        name: &str,
        s: &SequenceRow,
        relations: &HashMap<u32, (&str, &str)>,
    ) {
        let (data_type, _) = normalize(&CatalogType {
            name: &s.type_name,
            schema: Some("pg_catalog"),
            array_dimensions: 0,
            typmod: -1,
            formatted: "",
        });
        let owner = match (s.owner_table, &s.owner_column) {
            (Some(table), Some(column)) => match relations.get(&table) {
                Some((table, _)) => Some(format!("{table}.{column}")),
                None => {
                    self.unsupported("sequence owned by another schema", name);
                    None
                }
            },
            _ => None,
        };
        let comment = self.relations.get(&s.oid).and_then(|r| r.comment.clone());
        if s.owner_kind.as_deref() == Some("i") {
            if comment.is_some() {
                // The model has no identity sequence to hang it on.
                self.unsupported("comment", format!("identity sequence {name}"));
            }
            // Identity sequences belong to their column; only non-default options are
            // worth a mention, since the model has no place for them.
            let max = match s.type_name.as_str() {
                "int2" => i64::from(i16::MAX),
                "int4" => i64::from(i32::MAX),
                _ => i64::MAX,
            };
            let default = s.start == 1
                && s.increment == 1
                && s.min_value == 1
                && s.max_value == max
                && s.cache == 1
                && !s.cycle;
            if !default {
                self.unsupported(
                    "identity options",
                    owner.unwrap_or_else(|| name.to_string()),
                );
            }
            return;
        }
        self.snapshot.sequences.insert(
            name.to_string(),
            Sequence {
                data_type,
                start: s.start,
                increment: s.increment,
                min_value: s.min_value,
                max_value: s.max_value,
                cache: s.cache,
                cycle: s.cycle,
                owned_by: owner,
                comment,
            },
        );
    }

    fn add_schema_objects(&mut self) {
        let ns = self.namespace;
        let objects = self.objects;
        for t in objects.types.iter().filter(|t| t.namespace == ns) {
            let kind = match t.kind.as_str() {
                "e" => {
                    self.snapshot.enums.insert(
                        t.name.clone(),
                        EnumType {
                            values: t.labels.clone(),
                            comment: t.comment.clone(),
                        },
                    );
                    continue;
                }
                // Read with their base type and checks (`add_domains`).
                "d" => continue,
                "c" => "composite type",
                "r" => "range type",
                "p" => "pseudo type",
                _ => "base type",
            };
            // NOTE(#14, comments): a modelled domain takes `t.comment` into
            // `Domain.comment` (and `continue`s before this report, as enums do).
            if t.comment.is_some() {
                self.unsupported("comment", format!("type {}", t.name));
            }
            self.unsupported(kind, t.name.clone());
        }
        for r in objects.routines.iter().filter(|r| r.namespace == ns) {
            if r.kind == "a" {
                self.unsupported("aggregate", r.name.clone());
                continue;
            }
            let signature = self
                .text('s', r.oid, 0)
                .unwrap_or_else(|| format!("{}()", r.name));
            let mut definition = self.text('f', r.oid, 0).unwrap_or_default();
            if let (Some(qualified), Some(bare)) =
                (self.text('q', r.oid, 0), self.text('n', r.oid, 0))
            {
                // pg_get_functiondef always schema-qualifies the name in the header.
                definition =
                    definition.replacen(&format!(" {qualified}("), &format!(" {bare}("), 1);
            }
            self.snapshot.functions.insert(
                signature,
                Function {
                    definition: relativize_function(definition.trim_end(), self.schema),
                    comment: r.comment.clone(),
                },
            );
        }
        self.add_domains();
        for (_, name) in objects.extensions.iter().filter(|(n, _)| *n == ns) {
            self.snapshot
                .extensions
                .insert(name.clone(), Extension { schema: None });
        }
        for o in objects.others.iter().filter(|o| o.namespace == ns) {
            self.unsupported(&o.kind, o.name.clone());
        }
    }
}

/// Whether a relation kind is a table (plain or partitioned).
fn is_table(kind: &str) -> bool {
    kind == "r" || kind == "p"
}

/// A table's persistence, storage parameters (its TOAST table's prefixed with `toast.`)
/// and row-level security.
fn table_options(r: &Relation) -> TableOptions {
    let storage_parameters = r
        .options
        .iter()
        .chain(&r.toast_options)
        .filter_map(|option| option.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    TableOptions {
        unlogged: r.unlogged,
        storage_parameters,
        row_security: r.row_security,
        force_row_security: r.force_row_security,
        ..TableOptions::default()
    }
}

/// When a trigger fires, from `tgenabled`.
fn trigger_enabled(code: &str) -> TriggerEnabled {
    match code {
        "D" => TriggerEnabled::Disabled,
        "R" => TriggerEnabled::Replica,
        "A" => TriggerEnabled::Always,
        _ => TriggerEnabled::Origin,
    }
}

/// A foreign key action from its catalog letter.
fn action(code: &str) -> ForeignKeyAction {
    match code {
        "r" => ForeignKeyAction::Restrict,
        "c" => ForeignKeyAction::Cascade,
        "n" => ForeignKeyAction::SetNull,
        "d" => ForeignKeyAction::SetDefault,
        _ => ForeignKeyAction::NoAction,
    }
}

/// The error for a tenant whose schema does not exist.
pub(crate) fn missing_schema(tenant: &TenantId, schema: &str) -> Error {
    Error::database(
        Some(tenant),
        Phase::Inspect,
        Some(format!("schema {schema:?}")),
        format!("the schema {schema:?} does not exist; check the tenant id or create the schema"),
    )
}

impl PostgresAdapter {
    /// Inspects a batch in one read-only transaction; the outer error concerns the whole
    /// batch (for a batch of one, a timeout is that tenant's [`Error::Lock`]).
    async fn inspect_batch(
        &self,
        tenants: &[TenantContext],
    ) -> Result<Vec<Result<SchemaSnapshot>>> {
        let single = match tenants {
            [only] => Some(only.id()),
            _ => None,
        };
        let client = self.client().await?;
        let failed = |e: tokio_postgres::Error| match single {
            Some(tenant) if is_timeout(&e) => inspection_timeout(tenant, "inspection", e),
            _ => error::database(single, Phase::Inspect, "reading the catalog", e),
        };
        let begin = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;{}",
            self.inspect_timeouts.set_local()
        );
        if let Err(e) = client.batch_execute(&begin).await {
            if client.batch_execute("ROLLBACK").await.is_err() {
                drop(deadpool_postgres::Object::take(client));
            }
            return Err(failed(e));
        }
        let schemas: Vec<String> = tenants.iter().map(|t| t.namespace().to_string()).collect();
        // One tenant is read alone again and again (`inspect`, the verification after
        // steps run outside a transaction): prepared; a batch differs every time.
        let catalog_client = if single.is_some() {
            CatalogClient::prepared(&client)
        } else {
            CatalogClient::unprepared(&client)
        };
        let result = inspect_schemas_with(
            catalog_client,
            self.server_version,
            &schemas,
            self.include_privileges,
            Some(&self.shape_cache),
        )
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        if client.batch_execute(end).await.is_err() {
            drop(deadpool_postgres::Object::take(client));
        }
        let snapshots = result.map_err(failed)?;
        Ok(tenants
            .iter()
            .zip(snapshots)
            .map(|(tenant, snapshot)| {
                snapshot.ok_or_else(|| missing_schema(tenant.id(), tenant.namespace()))
            })
            .collect())
    }
}

impl PostgresAdapter {
    /// How a batch inspection of `tenants` groups them by shape: for each tenant, the
    /// position in `tenants` of the one whose deparsed text it gets (its own position
    /// when it is deparsed itself); `None` for a schema that does not exist. For tests of
    /// the grouping's soundness: it does not change what inspection returns.
    ///
    /// # Errors
    /// A connection or catalog error.
    #[doc(hidden)]
    pub async fn shape_groups(&self, tenants: &[TenantContext]) -> Result<Vec<Option<usize>>> {
        let client = self.client().await?;
        let client = CatalogClient::unprepared(&client);
        let failed = |e| error::database(None, Phase::Inspect, "reading the catalog", e);
        let names: Vec<String> = tenants.iter().map(|t| t.namespace().to_string()).collect();
        let found = catalog::namespaces(client, &names).await.map_err(failed)?;
        let oids: Vec<u32> = found.iter().map(|(oid, _)| *oid).collect();
        let objects = catalog::schema_objects(client, &oids)
            .await
            .map_err(failed)?;
        let relations: Vec<u32> = objects.relations.iter().map(|r| r.oid).collect();
        let rows = catalog::raw_rows(client, &oids, &relations)
            .await
            .map_err(failed)?;
        let shapes = Shapes::group(rows);
        let oid_of: HashMap<&str, u32> = found.iter().map(|(o, n)| (n.as_str(), *o)).collect();
        let position: HashMap<u32, usize> = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| oid_of.get(n.as_str()).map(|o| (*o, i)))
            .collect();
        Ok(names
            .iter()
            .map(|name| {
                let oid = oid_of.get(name.as_str())?;
                position.get(&shapes.representative_of(*oid)).copied()
            })
            .collect())
    }

    /// Inspects one tenant ([`SchemaInspector::inspect`](schema_sync_core::SchemaInspector::inspect)).
    pub(crate) async fn inspect_one(&self, tenant: &TenantContext) -> Result<SchemaSnapshot> {
        let mut results = self.inspect_batch(std::slice::from_ref(tenant)).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(missing_schema(tenant.id(), tenant.namespace())))
    }

    /// Inspects `tenants` in one batch, or one by one when the batch fails
    /// ([`SchemaInspector::inspect_many`](schema_sync_core::SchemaInspector::inspect_many)).
    pub(crate) async fn inspect_each(
        &self,
        tenants: &[TenantContext],
    ) -> Vec<Result<SchemaSnapshot>> {
        match self.inspect_batch(tenants).await {
            Ok(results) => results,
            Err(error) if tenants.len() <= 1 => vec![Err(error)],
            Err(_) => {
                // One bad or locked tenant must not fail the batch: retry one by one, so
                // each tenant gets its own result and its own error (a tenant that times
                // out again fails alone, with the lock kind).
                let mut results = Vec::with_capacity(tenants.len());
                for tenant in tenants {
                    results.push(self.inspect_one(tenant).await);
                }
                results
            }
        }
    }
}

mod domains;
mod grants;
mod partitions;
mod shapes;
mod timeouts;

pub(crate) use grants::inspect_schemas_with;
pub(crate) use timeouts::{Timeouts, inspection_timeout, is_timeout};
