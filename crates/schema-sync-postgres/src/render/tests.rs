use schema_sync_core::plan::ColumnPlacement;
use schema_sync_core::snapshot::{Column, DataType, Generated, PrimaryKey, Sequence};
use schema_sync_core::testing::plan_of as plan;

use super::columns::mentions;
use super::*;
use crate::sql::qualified_collation;

fn render(operations: Vec<Operation>, live: &SchemaSnapshot) -> Vec<Vec<String>> {
    let tenant = TenantId::new("t\"1").unwrap_or_else(|e| panic!("{e}"));
    let plan = plan(operations);
    let statements = render_plan(
        &plan,
        &RenderContext {
            tenant: &tenant,
            schema: Some("t\"1"),
            live,
            privileges: &Default::default(),
            index_builds: &Default::default(),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Grouped by step, as the assertions read them.
    let mut by_step = vec![Vec::new(); plan.steps.len()];
    for statement in statements {
        by_step[statement.steps[0]].push(statement.sql);
    }
    by_step
}

fn column(name: &str) -> Column {
    Column::new(DataType::named(name))
}

#[test]
fn quoting_doubles_quotes() {
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    assert_eq!(quote_ident("Ünï code"), "\"Ünï code\"");
    assert_eq!(quote_literal("it's"), "'it''s'");
    assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
}

#[test]
fn splits_function_keys_and_collations() {
    assert_eq!(
        split_signature("f(a integer, b text)"),
        Some(("f".to_string(), "a integer, b text"))
    );
    assert_eq!(
        split_signature("\"we(ird\"\"\"()"),
        Some(("we(ird\"".to_string(), ""))
    );
    assert_eq!(render_collation("en_US.utf8"), "\"en_US.utf8\"");
    assert_eq!(
        render_collation(&qualified_collation("my.schema", "c\"1")),
        "\"my.schema\".\"c\"\"1\""
    );
}

#[test]
fn finds_column_references_outside_literals() {
    assert!(mentions("(total * 0.2)", "total"));
    assert!(!mentions("(subtotal * 0.2)", "total"));
    assert!(!mentions("'total'::text", "total"));
    assert!(mentions("(\"Total Sum\" + 1)", "Total Sum"));
}

#[test]
fn create_table_quotes_everything_and_sets_sequence_owner_after_the_table() {
    let mut table = Table::default();
    let mut id = column("integer");
    id.nullable = false;
    id.default = Some("nextval('t_id_seq'::regclass)".into());
    table.columns.insert("id".into(), id);
    table.primary_key = Some(PrimaryKey {
        name: Some("t_pkey".into()),
        columns: vec!["id".into()],
        comment: None,
    });
    table.comment = Some("a'b".into());
    let sequence = Sequence {
        data_type: DataType::named("integer"),
        start: 1,
        increment: 1,
        min_value: 1,
        max_value: 2_147_483_647,
        cache: 1,
        cycle: false,
        owned_by: Some("t.id".into()),
        comment: None,
    };
    let rendered = render(
        vec![
            Operation::CreateSequence {
                name: "t_id_seq".into(),
                sequence,
            },
            Operation::CreateTable {
                name: "t".into(),
                table,
            },
        ],
        &SchemaSnapshot::empty(),
    );
    assert_eq!(
        rendered[0],
        vec![
            "CREATE SEQUENCE \"t\"\"1\".\"t_id_seq\" AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1 NO CYCLE"
        ]
    );
    assert_eq!(
        rendered[1],
        vec![
            "CREATE TABLE \"t\"\"1\".\"t\" (\n    \"id\" integer DEFAULT nextval('t_id_seq'::regclass) NOT NULL,\n    CONSTRAINT \"t_pkey\" PRIMARY KEY (\"id\")\n)",
            "COMMENT ON TABLE \"t\"\"1\".\"t\" IS 'a''b'",
            "ALTER SEQUENCE \"t\"\"1\".\"t_id_seq\" OWNED BY \"t\"\"1\".\"t\".\"id\"",
        ]
    );
}

#[test]
fn type_changes_cast_and_keep_the_default() {
    let mut from = column("mood");
    from.default = Some("'ok'::mood".into());
    let mut to = column("text");
    to.default = Some("'ok'::text".into());
    to.nullable = false;
    let rendered = render(
        vec![Operation::AlterColumn {
            table: "t".into(),
            name: "m".into(),
            from,
            to,
        }],
        &SchemaSnapshot::empty(),
    );
    let alter = "ALTER TABLE \"t\"\"1\".\"t\" ALTER COLUMN \"m\"";
    assert_eq!(
        rendered[0],
        vec![
            format!("{alter} DROP DEFAULT"),
            format!("{alter} TYPE text USING \"m\"::text::text"),
            format!("{alter} SET NOT NULL"),
            format!("{alter} SET DEFAULT 'ok'::text"),
        ]
    );
}

#[test]
fn generated_columns_make_way_for_a_retyped_column() {
    let mut live = SchemaSnapshot::empty();
    let mut table = Table::default();
    table.columns.insert("total".into(), column("integer"));
    let mut tax = column("integer");
    tax.generated = Some(Generated {
        expression: "(total * 2)".into(),
        stored: true,
    });
    table.columns.insert("tax".into(), tax.clone());
    live.tables.insert("t".into(), table);
    let rendered = render(
        vec![Operation::AlterColumn {
            table: "t".into(),
            name: "total".into(),
            from: column("integer"),
            to: column("bigint"),
        }],
        &live,
    );
    assert_eq!(
        rendered[0],
        vec![
            "ALTER TABLE \"t\"\"1\".\"t\" DROP COLUMN IF EXISTS \"tax\"",
            "ALTER TABLE \"t\"\"1\".\"t\" ALTER COLUMN \"total\" TYPE bigint USING \"total\"::bigint",
            "ALTER TABLE \"t\"\"1\".\"t\" ADD COLUMN \"tax\" integer GENERATED ALWAYS AS ((total * 2)) STORED",
        ]
    );
}

#[test]
fn enum_additions_use_add_value_unless_the_run_uses_the_label() {
    let from = EnumType {
        values: vec!["b".into(), "d".into()],
        comment: None,
    };
    let to = EnumType {
        values: vec!["a".into(), "b".into(), "c".into(), "d".into()],
        comment: None,
    };
    let alter = Operation::AlterEnum {
        name: "e".into(),
        from: from.clone(),
        to: to.clone(),
    };
    let rendered = render(vec![alter.clone()], &SchemaSnapshot::empty());
    assert_eq!(
        rendered[0],
        vec![
            "ALTER TYPE \"t\"\"1\".\"e\" ADD VALUE 'a' BEFORE 'b'",
            "ALTER TYPE \"t\"\"1\".\"e\" ADD VALUE 'c' AFTER 'b'",
        ]
    );
    let mut uses = column("e");
    uses.default = Some("'c'::e".into());
    let rendered = render(
        vec![
            alter,
            Operation::AddColumn {
                table: "t".into(),
                name: "x".into(),
                column: uses,
                placement: ColumnPlacement::Last,
            },
        ],
        &SchemaSnapshot::empty(),
    );
    assert!(rendered[0][0].starts_with("CREATE TYPE \"t\"\"1\".\"e__schema_sync_new\" AS ENUM"));
    assert!(rendered[0].contains(&"DROP TYPE \"t\"\"1\".\"e\"".to_string()));
}

#[test]
fn replaced_functions_are_not_dropped() {
    let function = schema_sync_core::snapshot::Function {
        definition: "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'".into(),
        comment: None,
    };
    let rendered = render(
        vec![
            Operation::DropFunction {
                name: "f()".into(),
                from: function.clone(),
            },
            Operation::CreateFunction {
                name: "f()".into(),
                function: function.clone(),
            },
            Operation::DropFunction {
                name: "g(a integer)".into(),
                from: function,
            },
        ],
        &SchemaSnapshot::empty(),
    );
    assert!(rendered[0].is_empty());
    assert_eq!(
        rendered[2],
        vec!["DROP ROUTINE \"t\"\"1\".\"g\"(a integer)"]
    );
}

#[test]
fn narrowing_leaves_lengths_to_the_assignment_cast_and_guards_rounding() {
    let typed = |t: DataType| Column::new(t);
    let rendered = render(
        vec![
            Operation::AlterColumn {
                table: "t".into(),
                name: "v".into(),
                from: typed(DataType::named("varchar").with_length(80)),
                to: typed(DataType::named("varchar").with_length(50)),
            },
            Operation::AlterColumn {
                table: "t".into(),
                name: "n".into(),
                from: typed(DataType::named("numeric").with_precision(10, Some(3))),
                to: typed(DataType::named("numeric").with_precision(10, Some(2))),
            },
        ],
        &SchemaSnapshot::empty(),
    );
    assert_eq!(
        rendered[0],
        vec![
            "ALTER TABLE \"t\"\"1\".\"t\" ALTER COLUMN \"v\" TYPE varchar(50) USING \"v\"::varchar"
        ]
    );
    assert_eq!(rendered[1].len(), 2);
    let guard = &rendered[1][0];
    assert!(guard.starts_with("DO '"), "{guard}");
    assert!(
        guard.contains(
            "FROM \"t\"\"1\".\"t\" WHERE \"n\" IS DISTINCT FROM (\"n\"::numeric(10,2))::numeric(10,3)"
        ),
        "{guard}"
    );
    assert!(
        guard.contains("''cannot change column %.% from % to %: % row(s) hold values"),
        "{guard}"
    );
    assert_eq!(
        rendered[1][1],
        "ALTER TABLE \"t\"\"1\".\"t\" ALTER COLUMN \"n\" TYPE numeric(10,2) USING \"n\"::numeric(10,2)"
    );
}

#[test]
fn policies_render_every_clause_and_quote_roles_but_public() {
    use schema_sync_core::snapshot::{Policy, PolicyCommand};
    let policy = Policy {
        command: PolicyCommand::Update,
        restrictive: true,
        roles: vec!["Admin\"s".into(), "public".into()],
        using: Some("(owner = CURRENT_USER)".into()),
        with_check: Some("(amount > 0)".into()),
        comment: None,
    };
    let rendered = render(
        vec![
            Operation::DropPolicy {
                table: "t".into(),
                name: "p\"1".into(),
                from: Policy::default(),
            },
            Operation::CreatePolicy {
                table: "t".into(),
                name: "p\"1".into(),
                policy,
            },
            Operation::CreatePolicy {
                table: "t".into(),
                name: "everyone".into(),
                policy: Policy {
                    roles: vec!["public".into()],
                    ..Policy::default()
                },
            },
        ],
        &SchemaSnapshot::empty(),
    );
    assert_eq!(
        rendered,
        [
            vec![r#"DROP POLICY "p""1" ON "t""1"."t""#.to_string()],
            vec![
                r#"CREATE POLICY "p""1" ON "t""1"."t" AS RESTRICTIVE FOR UPDATE TO "Admin""s", PUBLIC USING ((owner = CURRENT_USER)) WITH CHECK ((amount > 0))"#
                    .to_string()
            ],
            vec![r#"CREATE POLICY "everyone" ON "t""1"."t" AS PERMISSIVE FOR ALL TO PUBLIC"#.to_string()],
        ]
    );
}

#[test]
fn table_options_render_persistence_parameters_and_row_security() {
    use schema_sync_core::snapshot::TableOptions;
    let mut table = Table::default();
    table.columns.insert("id".into(), column("integer"));
    table.options = TableOptions {
        unlogged: true,
        storage_parameters: [
            ("fillfactor".to_string(), "70".to_string()),
            ("toast.autovacuum_enabled".to_string(), "false".to_string()),
        ]
        .into(),
        row_security: true,
        force_row_security: true,
        ..TableOptions::default()
    };
    let from = TableOptions {
        storage_parameters: [
            ("fillfactor".to_string(), "50".to_string()),
            ("autovacuum_enabled".to_string(), "off".to_string()),
        ]
        .into(),
        force_row_security: true,
        ..TableOptions::default()
    };
    let rendered = render(
        vec![
            Operation::CreateTable {
                name: "t".into(),
                table: table.clone(),
            },
            Operation::AlterTableOptions {
                table: "u".into(),
                from,
                to: TableOptions {
                    force_row_security: false,
                    ..table.options.clone()
                },
            },
        ],
        &SchemaSnapshot::empty(),
    );
    assert_eq!(
        rendered,
        [
            vec![
                "CREATE UNLOGGED TABLE \"t\"\"1\".\"t\" (\n    \"id\" integer\n) WITH (fillfactor = 70, toast.autovacuum_enabled = 'false')".to_string(),
                r#"ALTER TABLE "t""1"."t" ENABLE ROW LEVEL SECURITY"#.to_string(),
                r#"ALTER TABLE "t""1"."t" FORCE ROW LEVEL SECURITY"#.to_string(),
            ],
            vec![
                r#"ALTER TABLE "t""1"."u" SET UNLOGGED"#.to_string(),
                r#"ALTER TABLE "t""1"."u" RESET (autovacuum_enabled)"#.to_string(),
                r#"ALTER TABLE "t""1"."u" SET (fillfactor = 70, toast.autovacuum_enabled = 'false')"#.to_string(),
                r#"ALTER TABLE "t""1"."u" ENABLE ROW LEVEL SECURITY"#.to_string(),
                r#"ALTER TABLE "t""1"."u" NO FORCE ROW LEVEL SECURITY"#.to_string(),
            ],
        ]
    );
}

#[test]
fn options_postgres_cannot_express_or_unsafe_parameter_names_are_refused() {
    use schema_sync_core::snapshot::TableOptions;
    let tenant = TenantId::new("t1").unwrap_or_else(|e| panic!("{e}"));
    let refused = |options: TableOptions| {
        let plan = plan(vec![Operation::AlterTableOptions {
            table: "t".into(),
            from: TableOptions::default(),
            to: options,
        }]);
        render_plan(
            &plan,
            &RenderContext {
                tenant: &tenant,
                schema: Some("t1"),
                live: &SchemaSnapshot::empty(),
                privileges: &Default::default(),
                index_builds: &Default::default(),
            },
        )
        .err()
    };
    for options in [
        TableOptions {
            engine: Some("InnoDB".into()),
            ..TableOptions::default()
        },
        TableOptions {
            storage_parameters: [(
                "fillfactor = 1); DROP TABLE x; --".to_string(),
                "1".to_string(),
            )]
            .into(),
            ..TableOptions::default()
        },
    ] {
        let error = refused(options.clone());
        assert!(
            matches!(error, Some(Error::Unsupported { .. })),
            "{options:?}: {error:?}"
        );
    }
    // A value is a literal unless it is a number: nothing in it is SQL.
    let mut table = Table::default();
    table.options.storage_parameters = [(
        "fillfactor".to_string(),
        "1'); DROP TABLE x; --".to_string(),
    )]
    .into();
    let rendered = render(
        vec![Operation::CreateTable {
            name: "t".into(),
            table,
        }],
        &SchemaSnapshot::empty(),
    );
    assert!(
        rendered[0][0].ends_with(" WITH (fillfactor = '1''); DROP TABLE x; --')"),
        "{rendered:?}"
    );
}

#[test]
fn triggers_that_do_not_fire_by_default_are_created_then_set() {
    use schema_sync_core::snapshot::{Trigger, TriggerEnabled};
    let trigger = |enabled| Trigger {
        definition: "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()".into(),
        enabled,
        comment: None,
    };
    let mut operations = Vec::new();
    for enabled in [
        TriggerEnabled::Origin,
        TriggerEnabled::Disabled,
        TriggerEnabled::Replica,
        TriggerEnabled::Always,
    ] {
        operations.push(Operation::CreateTrigger {
            table: "t".into(),
            name: "tr".into(),
            trigger: trigger(enabled),
        });
    }
    operations.push(Operation::SetTriggerEnabled {
        table: "t".into(),
        name: "tr".into(),
        from: TriggerEnabled::Disabled,
        to: TriggerEnabled::Origin,
    });
    let rendered = render(operations, &SchemaSnapshot::empty());
    let definition = trigger(TriggerEnabled::Origin).definition;
    let alter = |verb: &str| format!(r#"ALTER TABLE "t""1"."t" {verb} TRIGGER "tr""#);
    assert_eq!(
        rendered,
        [
            vec![definition.clone()],
            vec![definition.clone(), alter("DISABLE")],
            vec![definition.clone(), alter("ENABLE REPLICA")],
            vec![definition, alter("ENABLE ALWAYS")],
            vec![alter("ENABLE")],
        ]
    );
}

#[test]
fn renders_a_comment_on_every_kind_of_object() {
    use schema_sync_core::plan::CommentTarget::*;
    let s = |v: &str| v.to_string();
    let cases = vec![
        (Table { name: s("t") }, "TABLE \"t\"\"1\".\"t\""),
        (
            Column {
                table: s("t"),
                column: s("c\"x"),
            },
            "COLUMN \"t\"\"1\".\"t\".\"c\"\"x\"",
        ),
        (
            View {
                name: s("v"),
                materialized: false,
            },
            "VIEW \"t\"\"1\".\"v\"",
        ),
        (
            View {
                name: s("m"),
                materialized: true,
            },
            "MATERIALIZED VIEW \"t\"\"1\".\"m\"",
        ),
        (
            ViewColumn {
                view: s("v"),
                column: s("total"),
            },
            "COLUMN \"t\"\"1\".\"v\".\"total\"",
        ),
        (
            Index {
                table: s("m"),
                name: s("m_idx"),
            },
            "INDEX \"t\"\"1\".\"m_idx\"",
        ),
        (
            Constraint {
                table: s("t"),
                name: s("t_pkey"),
            },
            "CONSTRAINT \"t_pkey\" ON \"t\"\"1\".\"t\"",
        ),
        (
            Trigger {
                table: s("t"),
                name: s("audit"),
            },
            "TRIGGER \"audit\" ON \"t\"\"1\".\"t\"",
        ),
        (
            Policy {
                table: s("t"),
                name: s("own rows"),
            },
            "POLICY \"own rows\" ON \"t\"\"1\".\"t\"",
        ),
        (
            Function {
                signature: s("f(a integer, b text)"),
            },
            "ROUTINE \"t\"\"1\".\"f\"(a integer, b text)",
        ),
        (
            Function {
                signature: s("\"We(ird\"()"),
            },
            "ROUTINE \"t\"\"1\".\"We(ird\"()",
        ),
        (Sequence { name: s("s") }, "SEQUENCE \"t\"\"1\".\"s\""),
        (Type { name: s("mood") }, "TYPE \"t\"\"1\".\"mood\""),
        (Domain { name: s("email") }, "DOMAIN \"t\"\"1\".\"email\""),
    ];
    for (object, target) in cases {
        let rendered = render(
            vec![
                Operation::SetComment {
                    object: object.clone(),
                    comment: Some(s("it's\nhere")),
                },
                Operation::SetComment {
                    object,
                    comment: None,
                },
            ],
            &SchemaSnapshot::empty(),
        );
        assert_eq!(
            rendered,
            vec![
                vec![format!("COMMENT ON {target} IS 'it''s\nhere'")],
                vec![format!("COMMENT ON {target} IS NULL")],
            ]
        );
    }
}

#[test]
fn a_malformed_function_key_is_refused_not_guessed() {
    let tenant = TenantId::new("t1").unwrap_or_else(|e| panic!("{e}"));
    let result = render_plan(
        &plan(vec![Operation::SetComment {
            object: schema_sync_core::plan::CommentTarget::Function {
                signature: "f".to_string(),
            },
            comment: Some("x".to_string()),
        }]),
        &RenderContext {
            tenant: &tenant,
            schema: Some("t1"),
            live: &SchemaSnapshot::empty(),
            privileges: &Default::default(),
            index_builds: &Default::default(),
        },
    );
    assert!(
        matches!(result, Err(Error::Unsupported { .. })),
        "{result:?}"
    );
}

#[test]
fn operator_classes_round_trip_through_their_stored_form() {
    use crate::sql::{operator_class_text, parse_operator_class};
    let stored = operator_class_text(
        &qualified_collation("ext", "gist_trgm_ops"),
        &["siglen=32".to_string(), "odd=it's, (x)".to_string()],
    );
    assert_eq!(
        stored,
        "\"ext\".\"gist_trgm_ops\"(siglen='32', odd='it''s, (x)')"
    );
    assert_eq!(
        render_operator_class(&stored),
        "\"ext\".\"gist_trgm_ops\" (\"siglen\" = '32', \"odd\" = 'it''s, (x)')"
    );
    assert_eq!(
        render_operator_class("jsonb_path_ops"),
        "\"jsonb_path_ops\""
    );
    assert_eq!(
        parse_operator_class("ops(a='1'"),
        None,
        "an unclosed list is not a stored operator class"
    );
    // Text of another form becomes one (unknown) name, never SQL.
    assert_eq!(
        render_operator_class("ops(a='1'); DROP TABLE x; --"),
        "\"ops(a='1'); DROP TABLE x; --\""
    );
}

#[test]
fn index_keys_constraint_options_and_matview_indexes_render() {
    use schema_sync_core::snapshot::{ForeignKeyAction, KeyOptions, View};
    let index = Index {
        parts: vec![
            IndexPart::Column {
                name: "title".into(),
                descending: true,
                prefix_length: None,
                options: KeyOptions {
                    operator_class: Some("text_pattern_ops".into()),
                    collation: Some("C".into()),
                    nulls_first: Some(false),
                },
            },
            IndexPart::Expression {
                sql: "lower(title)".into(),
                descending: false,
                options: KeyOptions {
                    nulls_first: Some(true),
                    ..KeyOptions::default()
                },
            },
        ],
        unique: true,
        include: vec!["rank".into()],
        nulls_not_distinct: true,
        storage_parameters: [("fillfactor".to_string(), "70".to_string())].into(),
        predicate: Some("(rank > 0)".into()),
        ..Index::default()
    };
    let view = View {
        definition: " SELECT 1 AS title".into(),
        materialized: true,
        indexes: [(
            "v_idx".to_string(),
            Index {
                parts: vec![IndexPart::column("title")],
                ..Index::default()
            },
        )]
        .into(),
        ..View::default()
    };
    let fk = ForeignKey {
        columns: vec!["a".into(), "b".into()],
        referenced_table: "p".into(),
        referenced_columns: vec!["x".into(), "y".into()],
        on_delete: ForeignKeyAction::SetNull,
        match_full: true,
        delete_set_columns: vec!["a".into()],
        not_valid: true,
        deferrable: Deferrable::InitiallyDeferred,
        ..ForeignKey::default()
    };
    let steps = render(
        vec![
            Operation::CreateIndex {
                table: "docs".into(),
                name: "i".into(),
                index,
            },
            Operation::CreateView {
                name: "v".into(),
                view,
            },
            Operation::AddForeignKey {
                table: "c".into(),
                name: "fk".into(),
                foreign_key: fk,
            },
            Operation::AddCheck {
                table: "c".into(),
                name: "ck".into(),
                check: CheckConstraint {
                    expression: "a > 0".into(),
                    not_valid: true,
                    comment: None,
                },
            },
            Operation::ValidateConstraint {
                table: "c".into(),
                name: "ck".into(),
            },
        ],
        &SchemaSnapshot::empty(),
    );
    assert_eq!(
        steps,
        [
            vec![
                "CREATE UNIQUE INDEX \"i\" ON \"t\"\"1\".\"docs\" (\"title\" COLLATE \"C\" \"text_pattern_ops\" DESC NULLS LAST, (lower(title)) NULLS FIRST) INCLUDE (\"rank\") NULLS NOT DISTINCT WITH (\"fillfactor\" = '70') WHERE (rank > 0)"
            ],
            vec![
                "CREATE MATERIALIZED VIEW \"t\"\"1\".\"v\" AS\n SELECT 1 AS title",
                "CREATE INDEX \"v_idx\" ON \"t\"\"1\".\"v\" (\"title\")",
            ],
            vec![
                "ALTER TABLE \"t\"\"1\".\"c\" ADD CONSTRAINT \"fk\" FOREIGN KEY (\"a\", \"b\") REFERENCES \"t\"\"1\".\"p\" (\"x\", \"y\") MATCH FULL ON DELETE SET NULL (\"a\") ON UPDATE NO ACTION DEFERRABLE INITIALLY DEFERRED NOT VALID"
            ],
            vec!["ALTER TABLE \"t\"\"1\".\"c\" ADD CONSTRAINT \"ck\" CHECK (a > 0) NOT VALID"],
            vec!["ALTER TABLE \"t\"\"1\".\"c\" VALIDATE CONSTRAINT \"ck\""],
        ]
    );
}

#[test]
fn mysql_only_column_and_index_attributes_are_refused() {
    let tenant = TenantId::new("t1").unwrap_or_else(|e| panic!("{e}"));
    let mut hidden = column("integer");
    hidden.invisible = true;
    let prefixed = schema_sync_core::snapshot::Index {
        parts: vec![schema_sync_core::snapshot::IndexPart::Column {
            name: "a".into(),
            descending: false,
            prefix_length: Some(10),
            options: Default::default(),
        }],
        ..Default::default()
    };
    for (operation, attribute) in [
        (
            Operation::AddColumn {
                table: "t".into(),
                name: "a".into(),
                column: hidden,
                placement: ColumnPlacement::Last,
            },
            "INVISIBLE",
        ),
        (
            Operation::CreateIndex {
                table: "t".into(),
                name: "ix".into(),
                index: prefixed,
            },
            "prefix",
        ),
    ] {
        let result = render_plan(
            &plan(vec![operation]),
            &RenderContext {
                tenant: &tenant,
                schema: Some("t1"),
                live: &SchemaSnapshot::empty(),
                privileges: &Default::default(),
                index_builds: &Default::default(),
            },
        );
        match result {
            Err(Error::Unsupported { message, .. }) => {
                assert!(message.contains(attribute), "{message}")
            }
            other => panic!("rendered {other:?}"),
        }
    }
}

#[test]
fn a_shared_file_names_no_schema_and_refuses_functions_pinned_to_the_tenant() {
    let tenant = TenantId::new("t1").unwrap_or_else(|e| panic!("{e}"));
    let shared = |operations: Vec<Operation>| {
        render_plan(
            &plan(operations),
            &RenderContext {
                tenant: &tenant,
                schema: None,
                live: &SchemaSnapshot::empty(),
                privileges: &Default::default(),
                index_builds: &Default::default(),
            },
        )
        .map(|statements| statements.into_iter().map(|s| s.sql).collect::<Vec<_>>())
    };
    let rendered = shared(vec![
        Operation::AddColumn {
            table: "users".into(),
            name: "email".into(),
            column: column("text"),
            placement: ColumnPlacement::Last,
        },
        Operation::DropFunction {
            name: "g(a integer)".into(),
            from: schema_sync_core::snapshot::Function {
                definition: "CREATE FUNCTION g(a integer) RETURNS int LANGUAGE sql AS 'select 1'"
                    .into(),
                comment: None,
            },
        },
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rendered,
        [
            "ALTER TABLE \"users\" ADD COLUMN \"email\" text",
            "DROP ROUTINE \"g\"(a integer)"
        ]
    );
    let pinned = schema_sync_core::snapshot::Function {
        definition: format!(
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql\n SET search_path TO '{}'\nAS 'select 1'",
            crate::sql::relative::TENANT
        ),
        comment: None,
    };
    match shared(vec![Operation::CreateFunction {
        name: "f()".into(),
        function: pinned,
    }]) {
        Err(Error::Unsupported {
            object, message, ..
        }) => {
            assert_eq!(object, "function f()");
            assert!(message.contains("without --layout"), "{message}");
        }
        other => panic!("expected the function to be refused, got {other:?}"),
    }
}
