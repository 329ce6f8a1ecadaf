//! Tests of column and index attributes per server flavour and version: `INVISIBLE`,
//! `COMPRESSED`, `ZEROFILL`, `SRID`, index comments, `WITH PARSER`, `DESC` key parts.

use schema_sync_core::snapshot::{DataType, Index, IndexPart, SchemaSnapshot};
use schema_sync_core::testing::{TableBuilder, snapshot};
use schema_sync_core::{DefaultDiffCalculator, DefaultPlanner, DiffCalculator, Planner};

use super::*;

const MARIADB: &str = "10.11.6-MariaDB";
const MYSQL: &str = "8.0.36";

fn context(version: &str) -> RenderContext<'static> {
    RenderContext {
        tenant: None,
        server: ServerInfo::parse(version),
        live: None,
    }
}

fn plan(from: &SchemaSnapshot, to: &SchemaSnapshot) -> MigrationPlan {
    let diff = DefaultDiffCalculator.diff(from, to);
    match DefaultPlanner.plan(from, to, &diff) {
        Ok(plan) => plan,
        Err(e) => panic!("{e}"),
    }
}

/// The SQL of `plan` on `version`, or the error message.
fn sql(plan: &MigrationPlan, context: &RenderContext<'_>) -> Result<Vec<String>> {
    render_plan(plan, context).map(|s| s.into_iter().map(|s| s.sql).collect())
}

/// `items (id, body)` with `body` as `column` sets it.
fn table_with(body: Column) -> SchemaSnapshot {
    let mut table = TableBuilder::new().column("id", "integer", true).build();
    table.push_column("body", body);
    snapshot([("items", table)])
}

fn unsupported_message(result: Result<Vec<String>>) -> String {
    match result {
        Err(Error::Unsupported { message, .. }) => message,
        other => panic!("expected an unsupported error, got {other:?}"),
    }
}

#[test]
fn column_attributes_are_rendered_per_flavour() {
    let mut hidden = Column::new(DataType::named("integer"));
    hidden.invisible = true;
    hidden.comment = Some("h".into());
    let plan_hidden = plan(&snapshot([]), &table_with(hidden));
    assert_eq!(
        sql(&plan_hidden, &context(MARIADB)).unwrap_or_default(),
        [
            "CREATE TABLE `items` (\n  `id` INT NOT NULL,\n  `body` INT NULL INVISIBLE COMMENT 'h'\n)"
        ]
    );
    assert!(sql(&plan_hidden, &context("8.0.36")).is_ok());
    assert!(unsupported_message(sql(&plan_hidden, &context("8.0.22"))).contains("8.0.23"));

    let mut packed = Column::new(DataType::named("varchar").with_length(100));
    packed.compressed = true;
    packed.collation = Some("utf8mb4_bin".into());
    let plan_packed = plan(&snapshot([]), &table_with(packed));
    assert!(
        sql(&plan_packed, &context(MARIADB)).unwrap_or_default()[0]
            .contains("`body` VARCHAR(100) COMPRESSED COLLATE utf8mb4_bin NULL")
    );
    assert!(unsupported_message(sql(&plan_packed, &context(MYSQL))).contains("MariaDB"));

    let mut zerofill = DataType::named("integer").with_length(5);
    zerofill.unsigned = true;
    zerofill.zerofill = true;
    let plan_zerofill = plan(&snapshot([]), &table_with(Column::new(zerofill)));
    for version in [MARIADB, MYSQL] {
        assert!(
            sql(&plan_zerofill, &context(version)).unwrap_or_default()[0]
                .contains("`body` INT(5) UNSIGNED ZEROFILL NULL")
        );
    }

    let mut located = Column::new(DataType::named("point"));
    located.nullable = false;
    located.srid = Some(4326);
    let plan_located = plan(&snapshot([]), &table_with(located));
    assert!(
        sql(&plan_located, &context(MYSQL)).unwrap_or_default()[0]
            .contains("`body` POINT NOT NULL SRID 4326")
    );
    assert!(unsupported_message(sql(&plan_located, &context(MARIADB))).contains("MySQL 8"));
    assert!(unsupported_message(sql(&plan_located, &context("5.7.44"))).contains("MySQL 8"));
}

#[test]
fn a_changed_column_is_restated_with_every_attribute() {
    let mut from = Column::new(DataType::named("text"));
    from.invisible = true;
    from.compressed = true;
    let mut to = from.clone();
    to.nullable = false;
    let plan = plan(&table_with(from), &table_with(to));
    assert_eq!(
        sql(&plan, &context(MARIADB)).unwrap_or_default(),
        ["ALTER TABLE `items` MODIFY COLUMN `body` TEXT COMPRESSED NOT NULL INVISIBLE"]
    );
}

/// `items (id, body text)` with the index `ix` when given.
fn indexed(index: Option<Index>) -> SchemaSnapshot {
    let mut table = TableBuilder::new()
        .column("id", "integer", true)
        .column("body", "text", false)
        .build();
    table.indexes.extend(index.map(|i| ("ix".to_string(), i)));
    snapshot([("items", table)])
}

fn part(descending: bool, prefix_length: Option<u32>) -> IndexPart {
    IndexPart::Column {
        name: "body".into(),
        descending,
        prefix_length,
        options: Default::default(),
    }
}

#[test]
fn index_options_are_rendered() {
    let base = indexed(None);
    let ngram = Index {
        parts: vec![part(false, None)],
        method: Some("fulltext".into()),
        parser: Some("ngram".into()),
        comment: Some("it's".into()),
        ..Default::default()
    };
    let plan_ngram = plan(&base, &indexed(Some(ngram.clone())));
    assert_eq!(
        sql(&plan_ngram, &context(MYSQL)).unwrap_or_default(),
        [
            "ALTER TABLE `items` ADD FULLTEXT INDEX `ix` (`body`) WITH PARSER `ngram` COMMENT 'it''s'"
        ]
    );
    let btree_parser = Index {
        method: None,
        ..ngram
    };
    assert!(
        unsupported_message(sql(
            &plan(&base, &indexed(Some(btree_parser))),
            &context(MYSQL)
        ))
        .contains("FULLTEXT")
    );

    let hidden_desc = Index {
        parts: vec![part(true, Some(10))],
        invisible: true,
        comment: Some("c".into()),
        ..Default::default()
    };
    let plan_desc = plan(&base, &indexed(Some(hidden_desc)));
    assert_eq!(
        sql(&plan_desc, &context(MARIADB)).unwrap_or_default(),
        ["ALTER TABLE `items` ADD INDEX `ix` (`body`(10) DESC) COMMENT 'c' IGNORED"]
    );
    assert_eq!(
        sql(&plan_desc, &context(MYSQL)).unwrap_or_default(),
        ["ALTER TABLE `items` ADD INDEX `ix` (`body`(10) DESC) COMMENT 'c' INVISIBLE"]
    );
    assert!(unsupported_message(sql(&plan_desc, &context("10.6.12-MariaDB"))).contains("10.8"));
}

#[test]
fn a_new_index_comment_rebuilds_the_index_from_its_live_definition() {
    let live_index = Index {
        parts: vec![part(false, Some(10))],
        comment: Some("old".into()),
        ..Default::default()
    };
    let live = indexed(Some(live_index.clone()));
    let target = indexed(Some(Index {
        comment: Some("new".into()),
        ..live_index
    }));
    let recomment = plan(&live, &target);
    assert!(needs_live_schema(&recomment));
    let with_live = RenderContext {
        live: Some(&live),
        ..context(MARIADB)
    };
    assert_eq!(
        sql(&recomment, &with_live).unwrap_or_default(),
        ["ALTER TABLE `items` DROP INDEX `ix`, ADD INDEX `ix` (`body`(10)) COMMENT 'new'"]
    );
    // A created index carries its comment: no second statement.
    let created = plan(&snapshot([]), &target);
    assert!(!needs_live_schema(&created));
    let statements = sql(&created, &context(MARIADB)).unwrap_or_default();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(statements[0].contains("COMMENT 'new'"));
}
