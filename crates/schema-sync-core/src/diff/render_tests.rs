//! Snapshot tests of the diff text and of plan step text, for every kind of change: the
//! `.snap` files under `snapshots/` are the reviewed output. Run `cargo insta review` (or
//! `INSTA_UPDATE=always`) after an intended change.

use std::collections::BTreeSet;

use crate::diff::{DefaultDiffCalculator, DiffCalculator};
use crate::plan::{ColumnPlacement, DefaultPlanner, Operation, Planner};
use crate::snapshot::{
    CheckConstraint, Column, DataType, Deferrable, EnumType, Extension, ForeignKey,
    ForeignKeyAction, Function, Generated, Identity, Index, IndexPart, PrimaryKey, SchemaSnapshot,
    Sequence, Table, TableOptions, Trigger, UniqueConstraint, UnsupportedObject, View,
};
use crate::testing::{TableBuilder, snapshot};

fn column(type_name: &str) -> Column {
    Column::new(DataType::named(type_name))
}

fn names(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn foreign_key(on_delete: ForeignKeyAction) -> ForeignKey {
    ForeignKey {
        columns: names(&["org_id"]),
        referenced_schema: None,
        referenced_table: "orgs".into(),
        referenced_columns: names(&["id"]),
        on_delete,
        on_update: ForeignKeyAction::NoAction,
        deferrable: Deferrable::NotDeferrable,
        ..Default::default()
    }
}

fn index(columns: &[&str]) -> Index {
    Index {
        parts: columns.iter().map(|c| IndexPart::column(*c)).collect(),
        unique: false,
        method: None,
        predicate: None,
        include: Vec::new(),
        invisible: false,
        ..Default::default()
    }
}

fn unique(columns: &[&str]) -> UniqueConstraint {
    UniqueConstraint {
        columns: names(columns),
        nulls_not_distinct: false,
        deferrable: Deferrable::NotDeferrable,
        comment: None,
    }
}

fn sequence() -> Sequence {
    Sequence {
        data_type: DataType::named("bigint"),
        start: 1,
        increment: 1,
        min_value: 1,
        max_value: 9_223_372_036_854_775_807,
        cache: 1,
        cycle: false,
        owned_by: None,
        comment: None,
    }
}

fn view(definition: &str) -> View {
    View {
        definition: definition.into(),
        materialized: false,
        depends_on: BTreeSet::new(),
        comment: None,
        ..Default::default()
    }
}

/// A table with one column per column attribute, changed one attribute at a time.
fn columns_table(changed: bool) -> Table {
    let mut table = TableBuilder::new().build();
    let mut attributes: Vec<(&str, Column)> = vec![
        ("c_type", column("varchar")),
        ("c_nullable", column("integer")),
        ("c_not_null", column("integer")),
        ("c_default", column("integer")),
        ("c_identity", column("bigint")),
        ("c_generated", column("integer")),
        ("c_collation", column("text")),
        ("c_on_update", column("timestamp")),
        ("c_comment", column("text")),
        ("c_all", column("integer")),
        ("c_removed", column("text")),
    ];
    for (name, column) in &mut attributes {
        if !changed {
            if *name == "c_type" {
                column.data_type = DataType::named("varchar").with_length(50);
            }
            if *name == "c_not_null" {
                column.nullable = false;
            }
            if *name == "c_comment" {
                column.comment = Some("it's old".into());
            }
            continue;
        }
        match *name {
            "c_type" => column.data_type = DataType::named("varchar").with_length(100),
            "c_nullable" => column.nullable = false,
            "c_default" => column.default = Some("0".into()),
            "c_identity" => column.identity = Some(Identity::Always),
            "c_generated" => {
                column.generated = Some(Generated {
                    expression: "c_default * 2".into(),
                    stored: true,
                });
            }
            "c_collation" => column.collation = Some("C".into()),
            "c_on_update" => column.on_update = Some("current_timestamp".into()),
            "c_comment" => column.comment = Some("new".into()),
            "c_all" => {
                column.data_type = DataType::named("numeric").with_precision(10, Some(2));
                column.nullable = false;
                column.default = Some("1.5".into());
            }
            _ => {}
        }
    }
    for (name, column) in attributes {
        if changed && name == "c_removed" {
            continue;
        }
        table.push_column(name, column);
    }
    if changed {
        let mut added = column("bigint");
        added.nullable = false;
        added.identity = Some(Identity::ByDefault);
        added.comment = Some("surrogate".into());
        table.push_column("c_added", added);
        let mut generated = column("integer");
        generated.generated = Some(Generated {
            expression: "c_default + 1".into(),
            stored: false,
        });
        table.push_column("c_added_generated", generated);
    }
    table
}

/// A table with one constraint, index or trigger per attribute, changed one at a time.
fn parts_table(changed: bool) -> Table {
    let mut table = TableBuilder::new()
        .column("id", "integer", true)
        .column("org_id", "integer", false)
        .column("email", "text", false)
        .build();
    table.primary_key = Some(PrimaryKey {
        name: None,
        columns: if changed {
            names(&["id", "org_id"])
        } else {
            names(&["id"])
        },
        comment: None,
    });
    let mut u_columns = unique(&["email"]);
    let mut u_nulls = unique(&["email"]);
    let mut u_deferrable = unique(&["email"]);
    if changed {
        u_columns.columns = names(&["email", "org_id"]);
        u_nulls.nulls_not_distinct = true;
        u_deferrable.deferrable = Deferrable::InitiallyDeferred;
        table.uniques.insert("u_added".into(), unique(&["org_id"]));
    } else {
        table.uniques.insert("u_removed".into(), unique(&["id"]));
    }
    table.uniques.insert("u_columns".into(), u_columns);
    table.uniques.insert("u_nulls".into(), u_nulls);
    table.uniques.insert("u_deferrable".into(), u_deferrable);
    let check = |e: &str| CheckConstraint {
        expression: e.into(),
        ..Default::default()
    };
    table.checks.insert(
        "ck_changed".into(),
        check(if changed { "id > 1" } else { "id > 0" }),
    );
    if changed {
        table
            .checks
            .insert("ck_added".into(), check("email like '%@%'"));
    } else {
        table
            .checks
            .insert("ck_removed".into(), check("org_id is not null"));
    }
    let mut fk_on_delete = foreign_key(ForeignKeyAction::Restrict);
    let mut fk_on_update = foreign_key(ForeignKeyAction::NoAction);
    let mut fk_target = foreign_key(ForeignKeyAction::NoAction);
    let mut fk_deferrable = foreign_key(ForeignKeyAction::NoAction);
    if changed {
        fk_on_delete.on_delete = ForeignKeyAction::Cascade;
        fk_on_update.on_update = ForeignKeyAction::SetNull;
        fk_target.referenced_schema = Some("billing".into());
        fk_target.referenced_table = "accounts".into();
        fk_target.referenced_columns = names(&["account_id"]);
        fk_deferrable.deferrable = Deferrable::InitiallyImmediate;
        let mut added = foreign_key(ForeignKeyAction::SetDefault);
        added.on_update = ForeignKeyAction::Cascade;
        added.deferrable = Deferrable::InitiallyDeferred;
        table.foreign_keys.insert("fk_added".into(), added);
    } else {
        table
            .foreign_keys
            .insert("fk_removed".into(), foreign_key(ForeignKeyAction::SetNull));
    }
    table
        .foreign_keys
        .insert("fk_on_delete".into(), fk_on_delete);
    table
        .foreign_keys
        .insert("fk_on_update".into(), fk_on_update);
    table.foreign_keys.insert("fk_target".into(), fk_target);
    table
        .foreign_keys
        .insert("fk_deferrable".into(), fk_deferrable);
    let mut i_parts = index(&["email"]);
    let mut i_unique = index(&["email"]);
    let mut i_method = index(&["email"]);
    let mut i_predicate = index(&["email"]);
    let mut i_include = index(&["email"]);
    let mut i_invisible = index(&["email"]);
    if changed {
        i_parts.parts = vec![
            IndexPart::Column {
                name: "email".into(),
                descending: true,
                prefix_length: Some(10),
                options: Default::default(),
            },
            IndexPart::Expression {
                sql: "lower(email)".into(),
                descending: false,
                options: Default::default(),
            },
        ];
        i_unique.unique = true;
        i_method.method = Some("hash".into());
        i_predicate.predicate = Some("org_id is not null".into());
        i_include.include = names(&["org_id"]);
        i_invisible.invisible = true;
        let mut added = index(&["org_id"]);
        added.unique = true;
        added.method = Some("btree".into());
        added.predicate = Some("email is not null".into());
        added.include = names(&["id"]);
        table.indexes.insert("i_added".into(), added);
    } else {
        i_method.method = Some("btree".into());
        table.indexes.insert("i_removed".into(), index(&["org_id"]));
    }
    for (name, index) in [
        ("i_parts", i_parts),
        ("i_unique", i_unique),
        ("i_method", i_method),
        ("i_predicate", i_predicate),
        ("i_include", i_include),
        ("i_invisible", i_invisible),
    ] {
        table.indexes.insert(name.into(), index);
    }
    let trigger = |d: &str| Trigger {
        definition: d.into(),
        ..Default::default()
    };
    table.triggers.insert(
        "t_changed".into(),
        trigger(if changed {
            "before update"
        } else {
            "after update"
        }),
    );
    if changed {
        table
            .triggers
            .insert("t_added".into(), trigger("before insert"));
    } else {
        table
            .triggers
            .insert("t_removed".into(), trigger("after delete"));
    }
    table
}

/// Table-level attributes: comments (added, removed, changed) and storage options.
fn table_level(changed: bool) -> Vec<(&'static str, Table)> {
    let base = || TableBuilder::new().column("id", "integer", true).build();
    let mut comment_added = base();
    let mut comment_removed = base();
    let mut comment_changed = base();
    let mut options = base();
    let mut options_sqlite = base();
    let mut pk_added = base();
    let mut pk_removed = base();
    let key = PrimaryKey {
        name: Some("pk".into()),
        columns: names(&["id"]),
        comment: None,
    };
    if changed {
        pk_added.primary_key = Some(key);
    } else {
        pk_removed.primary_key = Some(key);
    }
    if changed {
        comment_added.comment = Some("Customer organisations".into());
        comment_changed.comment = Some("b".into());
        options.options = TableOptions {
            engine: Some("InnoDB".into()),
            charset: Some("utf8mb4".into()),
            collation: Some("utf8mb4_bin".into()),
            without_rowid: false,
            strict: false,
            ..Default::default()
        };
        options_sqlite.options.strict = true;
    } else {
        comment_removed.comment = Some("legacy".into());
        comment_changed.comment = Some("a".into());
        options.options = TableOptions {
            engine: Some("Aria".into()),
            charset: None,
            collation: None,
            without_rowid: false,
            strict: false,
            ..Default::default()
        };
        options_sqlite.options.without_rowid = true;
    }
    vec![
        ("comment_added", comment_added),
        ("comment_removed", comment_removed),
        ("comment_changed", comment_changed),
        ("options", options),
        ("options_sqlite", options_sqlite),
        ("pk_added", pk_added),
        ("pk_removed", pk_removed),
    ]
}

/// Views, sequences, enums, functions, extensions and unmodelled objects.
fn schema_objects(snapshot: &mut SchemaSnapshot, changed: bool) {
    let mut seq_changed = sequence();
    let mut materialized = view("select 1");
    let mut commented = view("select 2");
    if changed {
        seq_changed.increment = 2;
        seq_changed.cache = 10;
        seq_changed.cycle = true;
        seq_changed.owned_by = Some("orgs.id".into());
        seq_changed.data_type = DataType::named("integer");
        seq_changed.max_value = 2_147_483_647;
        materialized.materialized = true;
        commented.comment = Some("for reports".into());
        snapshot
            .views
            .insert("v_changed".into(), view("select id from orgs"));
        snapshot.views.insert("v_added".into(), {
            let mut v = view("select 3");
            v.materialized = true;
            v
        });
        snapshot.sequences.insert("s_added".into(), sequence());
        snapshot.enums.insert(
            "e_changed".into(),
            EnumType {
                values: names(&["happy", "sad", "it's complicated"]),
                comment: None,
            },
        );
        snapshot.enums.insert(
            "e_added".into(),
            EnumType {
                values: names(&["on", "off"]),
                comment: None,
            },
        );
        snapshot.functions.insert(
            "f_changed".into(),
            Function {
                definition: "select 2".into(),
                comment: None,
            },
        );
        snapshot.functions.insert(
            "f_added".into(),
            Function {
                definition: "select 1".into(),
                comment: None,
            },
        );
        snapshot.extensions.insert(
            "x_changed".into(),
            Extension {
                schema: Some("extensions".into()),
            },
        );
        snapshot.extensions.insert(
            "x_added".into(),
            Extension {
                schema: Some("public".into()),
            },
        );
        snapshot
            .extensions
            .insert("x_added_default".into(), Extension::default());
        snapshot.unsupported.insert(UnsupportedObject::dependent_of(
            "policy",
            "tenant_isolation",
            "orgs",
        ));
        snapshot
            .unsupported
            .insert(UnsupportedObject::new("event", "nightly"));
    } else {
        snapshot
            .views
            .insert("v_changed".into(), view("select * from orgs"));
        snapshot.views.insert("v_removed".into(), view("select 4"));
        snapshot.sequences.insert("s_removed".into(), sequence());
        snapshot.enums.insert(
            "e_changed".into(),
            EnumType {
                values: names(&["happy", "sad"]),
                comment: None,
            },
        );
        snapshot.enums.insert(
            "e_removed".into(),
            EnumType {
                values: names(&["x"]),
                comment: None,
            },
        );
        snapshot.functions.insert(
            "f_changed".into(),
            Function {
                definition: "select 1".into(),
                comment: None,
            },
        );
        snapshot.functions.insert(
            "f_removed".into(),
            Function {
                definition: "select 1".into(),
                comment: None,
            },
        );
        snapshot.extensions.insert(
            "x_changed".into(),
            Extension {
                schema: Some("public".into()),
            },
        );
        snapshot
            .extensions
            .insert("x_removed".into(), Extension::default());
        snapshot
            .unsupported
            .insert(UnsupportedObject::new("rule", "legacy_rule"));
    }
    snapshot.views.insert("v_materialized".into(), materialized);
    snapshot.views.insert("v_commented".into(), commented);
    snapshot.sequences.insert("s_changed".into(), seq_changed);
}

/// The live schema and the target: every kind of object added, removed and modified.
fn every_change() -> (SchemaSnapshot, SchemaSnapshot) {
    let build = |changed: bool| {
        let mut tables = vec![
            ("columns", columns_table(changed)),
            ("parts", parts_table(changed)),
            (
                "orgs",
                TableBuilder::new().column("id", "integer", true).build(),
            ),
        ];
        tables.extend(table_level(changed));
        // The same columns in another order: a column-order change.
        let ordered = if changed {
            TableBuilder::new()
                .column("id", "integer", true)
                .column("name", "text", false)
                .column("email", "text", false)
        } else {
            TableBuilder::new()
                .column("email", "text", false)
                .column("id", "integer", true)
                .column("name", "text", false)
        };
        tables.push(("reordered", ordered.build()));
        if changed {
            tables.push((
                "added",
                TableBuilder::new()
                    .column("id", "integer", true)
                    .column("name", "text", false)
                    .build(),
            ));
        } else {
            tables.push((
                "removed",
                TableBuilder::new().column("id", "integer", true).build(),
            ));
        }
        let mut snapshot = snapshot(tables);
        schema_objects(&mut snapshot, changed);
        snapshot
    };
    (build(false), build(true))
}

/// One of each operation, with the attributes that make its text interesting.
fn every_operation() -> Vec<Operation> {
    let (from, to) = every_change();
    let table = |s: &SchemaSnapshot, name: &str| s.tables.get(name).cloned().unwrap_or_default();
    let col = |s: &SchemaSnapshot, t: &str, c: &str| {
        table(s, t)
            .columns
            .get(c)
            .cloned()
            .unwrap_or_else(|| column("integer"))
    };
    let parts_to = table(&to, "parts");
    let parts_from = table(&from, "parts");
    let get = |m: &std::collections::BTreeMap<String, Index>, k: &str| {
        m.get(k).cloned().unwrap_or_else(|| index(&["x"]))
    };
    let mut reorder_columns = std::collections::BTreeMap::new();
    reorder_columns.insert("id".to_string(), column("integer"));
    reorder_columns.insert("name".to_string(), column("text"));
    vec![
        Operation::CreateExtension {
            name: "pgcrypto".into(),
            extension: Extension {
                schema: Some("extensions".into()),
            },
        },
        Operation::CreateExtension {
            name: "citext".into(),
            extension: Extension::default(),
        },
        Operation::DropExtension {
            name: "hstore".into(),
            from: Extension::default(),
        },
        Operation::CreateEnum {
            name: "mood".into(),
            values: names(&["happy", "sad"]),
        },
        Operation::AlterEnum {
            name: "mood".into(),
            from: EnumType {
                values: names(&["happy", "sad"]),
                comment: None,
            },
            to: EnumType {
                values: names(&["happy", "sad", "meh"]),
                comment: None,
            },
        },
        Operation::DropEnum {
            name: "mood".into(),
            from: EnumType {
                values: names(&["happy"]),
                comment: None,
            },
        },
        Operation::CreateSequence {
            name: "s".into(),
            sequence: sequence(),
        },
        Operation::AlterSequence {
            name: "s".into(),
            from: sequence(),
            to: Sequence {
                increment: 5,
                cycle: true,
                ..sequence()
            },
        },
        Operation::DropSequence {
            name: "s".into(),
            from: sequence(),
        },
        Operation::CreateTable {
            name: "added".into(),
            table: table(&to, "added"),
        },
        Operation::DropTable {
            name: "removed".into(),
            from: table(&from, "removed"),
        },
        Operation::AddColumn {
            table: "columns".into(),
            name: "c_added".into(),
            column: col(&to, "columns", "c_added"),
            placement: ColumnPlacement::Last,
        },
        Operation::AddColumn {
            table: "users".into(),
            name: "id".into(),
            column: column("integer"),
            placement: ColumnPlacement::First,
        },
        Operation::AddColumn {
            table: "users".into(),
            name: "email".into(),
            column: Column {
                nullable: false,
                default: Some("''".into()),
                ..column("text")
            },
            placement: ColumnPlacement::After("name".into()),
        },
        Operation::ReorderColumns {
            table: "users".into(),
            from: names(&["name", "id"]),
            to: names(&["id", "name"]),
            columns: reorder_columns.clone(),
            required: true,
        },
        Operation::ReorderColumns {
            table: "users".into(),
            from: names(&["name", "id"]),
            to: names(&["id", "name"]),
            columns: reorder_columns.clone(),
            required: false,
        },
        Operation::DropColumn {
            table: "columns".into(),
            name: "c_removed".into(),
            from: col(&from, "columns", "c_removed"),
        },
        Operation::AlterColumn {
            table: "columns".into(),
            name: "c_all".into(),
            from: col(&from, "columns", "c_all"),
            to: col(&to, "columns", "c_all"),
        },
        Operation::AlterColumn {
            table: "columns".into(),
            name: "c_identity".into(),
            from: col(&from, "columns", "c_identity"),
            to: col(&to, "columns", "c_identity"),
        },
        Operation::AlterColumn {
            table: "columns".into(),
            name: "c_comment".into(),
            from: col(&from, "columns", "c_comment"),
            to: col(&to, "columns", "c_comment"),
        },
        Operation::AddPrimaryKey {
            table: "parts".into(),
            key: PrimaryKey {
                name: Some("parts_pkey".into()),
                columns: names(&["id", "org_id"]),
                comment: None,
            },
        },
        Operation::DropPrimaryKey {
            table: "parts".into(),
            from: PrimaryKey {
                name: None,
                columns: names(&["id"]),
                comment: None,
            },
        },
        Operation::AddUnique {
            table: "parts".into(),
            name: "u_nulls".into(),
            unique: parts_to
                .uniques
                .get("u_nulls")
                .cloned()
                .unwrap_or_else(|| unique(&["x"])),
        },
        Operation::DropUnique {
            table: "parts".into(),
            name: "u_removed".into(),
            from: unique(&["id"]),
        },
        Operation::AddCheck {
            table: "parts".into(),
            name: "ck_added".into(),
            check: CheckConstraint {
                expression: "email like '%@%'".into(),
                ..Default::default()
            },
        },
        Operation::DropCheck {
            table: "parts".into(),
            name: "ck_removed".into(),
            from: CheckConstraint {
                expression: "true".into(),
                ..Default::default()
            },
        },
        Operation::AddForeignKey {
            table: "parts".into(),
            name: "fk_on_delete".into(),
            foreign_key: foreign_key(ForeignKeyAction::Cascade),
        },
        Operation::AddForeignKey {
            table: "parts".into(),
            name: "fk_target".into(),
            foreign_key: parts_to
                .foreign_keys
                .get("fk_target")
                .cloned()
                .unwrap_or_else(|| foreign_key(ForeignKeyAction::NoAction)),
        },
        Operation::DropForeignKey {
            table: "parts".into(),
            name: "fk_on_delete".into(),
            from: foreign_key(ForeignKeyAction::Restrict),
        },
        Operation::CreateIndex {
            table: "parts".into(),
            name: "i_added".into(),
            index: get(&parts_to.indexes, "i_added"),
        },
        Operation::CreateIndex {
            table: "parts".into(),
            name: "i_parts".into(),
            index: get(&parts_to.indexes, "i_parts"),
        },
        Operation::DropIndex {
            table: "parts".into(),
            name: "i_removed".into(),
            from: get(&parts_from.indexes, "i_removed"),
        },
        Operation::CreateTrigger {
            table: "parts".into(),
            name: "t_added".into(),
            trigger: Trigger {
                definition: "before insert".into(),
                ..Default::default()
            },
        },
        Operation::DropTrigger {
            table: "parts".into(),
            name: "t_removed".into(),
            from: Trigger {
                definition: "after delete".into(),
                ..Default::default()
            },
        },
        Operation::SetTableComment {
            table: "orgs".into(),
            comment: Some("Customer organisations, it's plural".into()),
        },
        Operation::SetTableComment {
            table: "orgs".into(),
            comment: None,
        },
        Operation::AlterTableOptions {
            table: "options".into(),
            from: table(&from, "options").options,
            to: table(&to, "options").options,
        },
        Operation::CreateView {
            name: "v".into(),
            view: view("select 1"),
        },
        Operation::DropView {
            name: "mv".into(),
            from: View {
                materialized: true,
                ..view("select 1")
            },
        },
        Operation::CreateFunction {
            name: "f".into(),
            function: Function {
                definition: "select 1".into(),
                comment: None,
            },
        },
        Operation::DropFunction {
            name: "f".into(),
            from: Function {
                definition: "select 1".into(),
                comment: None,
            },
        },
    ]
}

/// Rust debug forms that must never reach a user.
const DEBUG_FORMS: &[&str] = &["Some(", "None", "{ ", "\"", "[", "Column {", "TableOptions"];

fn assert_no_debug_forms(text: &str) {
    for form in DEBUG_FORMS {
        assert!(!text.contains(form), "{form:?} in:\n{text}");
    }
}

#[test]
fn diff_text_of_every_change() {
    let (from, to) = every_change();
    let text = DefaultDiffCalculator.diff(&from, &to).to_text();
    insta::assert_snapshot!(text);
}

#[test]
fn diff_text_of_every_change_reversed() {
    let (from, to) = every_change();
    let text = DefaultDiffCalculator.diff(&to, &from).to_text();
    insta::assert_snapshot!(text);
}

#[test]
fn plan_step_text_of_every_operation() {
    let text: String = every_operation()
        .iter()
        .map(|op| format!("{op}\n"))
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn no_debug_forms_in_diff_or_plan_text() {
    let (from, to) = every_change();
    for (a, b) in [(&from, &to), (&to, &from)] {
        let diff = DefaultDiffCalculator.diff(a, b);
        assert_no_debug_forms(&diff.to_text());
        let plan = DefaultPlanner
            .plan(a, b, &diff)
            .unwrap_or_else(|e| panic!("{e}"));
        for step in &plan.steps {
            assert_no_debug_forms(&step.operation.to_string());
        }
        for line in plan.losses().iter().chain(&plan.unresolved) {
            assert_no_debug_forms(line);
        }
    }
    for operation in every_operation() {
        assert_no_debug_forms(&operation.to_string());
    }
}

#[test]
fn every_operation_kind_is_covered() {
    let kinds: BTreeSet<String> = every_operation()
        .iter()
        .filter_map(|op| {
            serde_json::to_value(op)
                .ok()
                .and_then(|v| v["op"].as_str().map(str::to_string))
        })
        .collect();
    assert_eq!(kinds.len(), 32, "{kinds:?}");
}

#[test]
fn a_changed_foreign_key_says_what_changed() {
    let (from, to) = every_change();
    let text = DefaultDiffCalculator.diff(&from, &to).to_text();
    assert!(
        text.contains("    ~ foreign key fk_on_delete: on delete restrict -> cascade\n"),
        "{text}"
    );
    assert!(
        text.contains("    ~ options engine Aria -> InnoDB, charset default -> utf8mb4"),
        "{text}"
    );
    assert!(
        text.contains("    + comment 'Customer organisations'\n"),
        "{text}"
    );
}

#[test]
fn diff_text_shows_key_options_constraint_options_and_matview_indexes() {
    use crate::snapshot::KeyOptions;
    let mut from = snapshot([(
        "docs",
        TableBuilder::new()
            .column("title", "text", true)
            .index("docs_title_idx", &["title"])
            .build(),
    )]);
    let docs = from
        .tables
        .get_mut("docs")
        .unwrap_or_else(|| panic!("docs"));
    docs.foreign_keys
        .insert("docs_org_fk".into(), foreign_key(ForeignKeyAction::SetNull));
    docs.checks.insert(
        "docs_check".into(),
        CheckConstraint {
            expression: "title <> ''".into(),
            // A live NOT VALID check with a valid target is drift (the reverse is not).
            not_valid: true,
            ..Default::default()
        },
    );
    from.views.insert(
        "ranks".into(),
        View {
            definition: "SELECT 1".into(),
            materialized: true,
            indexes: [("ranks_idx".to_string(), index(&["a"]))].into(),
            ..View::default()
        },
    );
    let mut to = from.clone();
    let docs = to.tables.get_mut("docs").unwrap_or_else(|| panic!("docs"));
    let title = docs
        .indexes
        .get_mut("docs_title_idx")
        .unwrap_or_else(|| panic!("index"));
    title.parts = vec![IndexPart::Column {
        name: "title".into(),
        descending: true,
        prefix_length: None,
        options: KeyOptions {
            operator_class: Some("text_pattern_ops".into()),
            collation: Some("C".into()),
            nulls_first: Some(false),
        },
    }];
    title.nulls_not_distinct = true;
    title.storage_parameters = [("fillfactor".to_string(), "70".to_string())].into();
    let fk = docs
        .foreign_keys
        .get_mut("docs_org_fk")
        .unwrap_or_else(|| panic!("fk"));
    fk.match_full = true;
    fk.delete_set_columns = names(&["org_id"]);
    fk.not_valid = true;
    docs.checks
        .get_mut("docs_check")
        .unwrap_or_else(|| panic!("check"))
        .not_valid = false;
    let ranks = to.views.get_mut("ranks").unwrap_or_else(|| panic!("ranks"));
    ranks.indexes.clear();
    ranks.indexes.insert("ranks_new".into(), index(&["b"]));
    let text = DefaultDiffCalculator.diff(&from, &to).to_text();
    for expected in [
        "columns (title) -> (title collate C text_pattern_ops desc nulls last), nulls distinct -> nulls not distinct, storage default -> with (fillfactor=70)",
        "match simple -> match full, on delete set null -> set null (org_id), valid -> not valid",
        "(title <> '') not valid",
        "drop index ranks_idx, add index ranks_new (b)",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
}

/// PostgreSQL table options, policies and trigger states read as words in the diff text.
#[test]
fn postgres_options_policies_and_trigger_states_in_diff_text() {
    use crate::snapshot::{Policy, PolicyCommand, TriggerEnabled};
    let trigger = |enabled| Trigger {
        definition: "CREATE TRIGGER tr ...".into(),
        enabled,
        comment: None,
    };
    let mut from = TableBuilder::new().column("id", "integer", true).build();
    from.triggers
        .insert("tr".into(), trigger(TriggerEnabled::Origin));
    from.options
        .storage_parameters
        .insert("fillfactor".into(), "70".into());
    from.policies.insert(
        "old".into(),
        Policy {
            roles: names(&["public"]),
            ..Policy::default()
        },
    );
    let mut to = from.clone();
    to.triggers
        .insert("tr".into(), trigger(TriggerEnabled::Replica));
    to.triggers
        .insert("off".into(), trigger(TriggerEnabled::Disabled));
    to.options = TableOptions {
        unlogged: true,
        row_security: true,
        force_row_security: true,
        ..TableOptions::default()
    };
    to.policies.insert(
        "new".into(),
        Policy {
            command: PolicyCommand::Select,
            restrictive: true,
            roles: names(&["auditor", "reader"]),
            using: Some("(id > 0)".into()),
            with_check: None,
            comment: None,
        },
    );
    if let Some(old) = to.policies.get_mut("old") {
        old.with_check = Some("true".into());
    }
    let text = DefaultDiffCalculator
        .diff(&snapshot([("t", from)]), &snapshot([("t", to)]))
        .to_text();
    for line in [
        "    + trigger off disabled",
        "    ~ trigger tr: enabled -> enabled replica",
        "    + policy new as restrictive for select to auditor, reader using ((id > 0))",
        "    ~ policy old: with check none -> true",
        "    ~ options logged -> unlogged, storage parameters (fillfactor=70) -> (), no row level security -> row level security forced",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }
    let options = TableOptions {
        unlogged: true,
        storage_parameters: [("fillfactor".to_string(), "70".to_string())].into(),
        row_security: true,
        ..TableOptions::default()
    };
    assert_eq!(
        options.to_string(),
        "unlogged with (fillfactor=70) row level security"
    );
}
