//! The SQL-like text of schema objects (`Display` for columns, keys, indexes, sequences,
//! options, ...) and of each attribute that changed between two versions of one, as
//! `attribute before -> after`. The diff text and plan step text are built from these.

use std::fmt;

use crate::diff::model::Change;
use crate::snapshot::{
    CheckConstraint, Column, Deferrable, EnumType, Extension, ForeignKey, ForeignKeyAction,
    Generated, Identity, Index, IndexPart, KeyOptions, Policy, PrimaryKey, Sequence, TableOptions,
    Trigger, UniqueConstraint, UnsupportedObject, View,
};

/// `'text'`, with quotes doubled as in SQL.
pub(super) fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A quoted SQL string, or `none`.
fn or_none_quoted(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "none".to_string(), sql_string)
}

/// The value, or `none`.
fn or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("none")
}

/// The value, or `default` (for settings whose absence means the database default).
pub(super) fn or_default(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("default")
}

/// `from -> to` when the two differ, pushed to `parts` with a label.
fn push_change(parts: &mut Vec<String>, label: &str, from: &str, to: &str) {
    if from != to {
        if label.is_empty() {
            parts.push(format!("{from} -> {to}"));
        } else {
            parts.push(format!("{label} {from} -> {to}"));
        }
    }
}

/// A comma-separated list in parentheses: `(a, b)`.
fn list(items: &[String]) -> String {
    format!("({})", items.join(", "))
}

/// The changed attributes of a column, each `attribute before -> after`.
pub(super) fn column_changes(from: &Column, to: &Column) -> Vec<String> {
    let mut parts = Vec::new();
    push_change(
        &mut parts,
        "type",
        &from.data_type.to_string(),
        &to.data_type.to_string(),
    );
    push_change(&mut parts, "", nullability(from), nullability(to));
    push_change(
        &mut parts,
        "default",
        or_none(&from.default),
        or_none(&to.default),
    );
    let identity = |c: &Column| {
        c.identity
            .map_or_else(|| "none".to_string(), |i| i.to_string())
    };
    push_change(&mut parts, "identity", &identity(from), &identity(to));
    let generated = |c: &Column| {
        c.generated
            .as_ref()
            .map_or_else(|| "none".to_string(), generated_text)
    };
    push_change(&mut parts, "generated", &generated(from), &generated(to));
    push_change(
        &mut parts,
        "collation",
        or_default(&from.collation),
        or_default(&to.collation),
    );
    push_change(
        &mut parts,
        "on update",
        or_none(&from.on_update),
        or_none(&to.on_update),
    );
    push_change(
        &mut parts,
        "comment",
        &or_none_quoted(&from.comment),
        &or_none_quoted(&to.comment),
    );
    let flag = |set: bool, name: &str| {
        if set {
            name.to_string()
        } else {
            format!("not {name}")
        }
    };
    push_change(
        &mut parts,
        "",
        &flag(from.invisible, "invisible"),
        &flag(to.invisible, "invisible"),
    );
    push_change(
        &mut parts,
        "",
        &flag(from.compressed, "compressed"),
        &flag(to.compressed, "compressed"),
    );
    let srid = |c: &Column| c.srid.map_or_else(|| "none".to_string(), |s| s.to_string());
    push_change(&mut parts, "srid", &srid(from), &srid(to));
    if from.position != to.position && from.position > 0 && to.position > 0 {
        push_change(
            &mut parts,
            "position",
            &from.position.to_string(),
            &to.position.to_string(),
        );
    }
    parts
}

fn nullability(column: &Column) -> &'static str {
    if column.nullable {
        "nullable"
    } else {
        "not null"
    }
}

/// A column definition in neutral SQL-like text: `varchar(255) not null default ''`.
pub fn column_definition(column: &Column) -> String {
    let mut text = column.data_type.to_string();
    if let Some(collation) = &column.collation {
        text.push_str(&format!(" collate {collation}"));
    }
    if !column.nullable {
        text.push_str(" not null");
    }
    if let Some(default) = &column.default {
        text.push_str(" default ");
        text.push_str(default);
    }
    if let Some(generated) = &column.generated {
        text.push_str(&format!(" {generated}"));
    }
    if let Some(identity) = &column.identity {
        text.push_str(&format!(" {identity}"));
    }
    if let Some(on_update) = &column.on_update {
        text.push_str(&format!(" on update {on_update}"));
    }
    if let Some(comment) = &column.comment {
        text.push_str(&format!(" comment {}", sql_string(comment)));
    }
    if column.compressed {
        text.push_str(" compressed");
    }
    if let Some(srid) = column.srid {
        text.push_str(&format!(" srid {srid}"));
    }
    if column.invisible {
        text.push_str(" invisible");
    }
    text
}

/// A column as [`column_definition`] writes it.
impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&column_definition(self))
    }
}

/// A column change: the definition of an added or removed column, the changed attributes
/// (`type int -> bigint, nullable -> not null`) of a modified one.
impl fmt::Display for Change<Column> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { to } => write!(f, "{to}"),
            Change::Removed { from } => write!(f, "{from}"),
            Change::Modified { from, to } => {
                let parts = column_changes(from, to);
                if parts.is_empty() {
                    f.write_str("unchanged")
                } else {
                    f.write_str(&parts.join(", "))
                }
            }
        }
    }
}

/// `generated always as identity`, `generated by default as identity`, `auto_increment`.
impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Identity::Always => "generated always as identity",
            Identity::ByDefault => "generated by default as identity",
            Identity::AutoIncrement => "auto_increment",
        })
    }
}

/// `always as (expr) stored` (or `virtual`).
fn generated_text(generated: &Generated) -> String {
    format!(
        "always as ({}) {}",
        generated.expression,
        if generated.stored {
            "stored"
        } else {
            "virtual"
        }
    )
}

/// `generated always as (expr) stored` (or `virtual`).
impl fmt::Display for Generated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "generated {}", generated_text(self))
    }
}

/// `(a, b)`, with the constraint name when it has one: `(a, b) named users_pkey`.
impl fmt::Display for PrimaryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&list(&self.columns))?;
        if let Some(name) = &self.name {
            write!(f, " named {name}")?;
        }
        Ok(())
    }
}

/// `(a, b)`, then `nulls not distinct` and deferrability when set.
impl fmt::Display for UniqueConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&list(&self.columns))?;
        if self.nulls_not_distinct {
            f.write_str(" nulls not distinct")?;
        }
        if !self.deferrable.is_not_deferrable() {
            write!(f, " {}", self.deferrable)?;
        }
        Ok(())
    }
}

/// `nulls not distinct` or `nulls distinct`.
fn distinctness(nulls_not_distinct: bool) -> &'static str {
    if nulls_not_distinct {
        "nulls not distinct"
    } else {
        "nulls distinct"
    }
}

pub(super) fn unique_changes(from: &UniqueConstraint, to: &UniqueConstraint) -> Vec<String> {
    let mut parts = Vec::new();
    push_change(
        &mut parts,
        "columns",
        &list(&from.columns),
        &list(&to.columns),
    );
    push_change(
        &mut parts,
        "",
        distinctness(from.nulls_not_distinct),
        distinctness(to.nulls_not_distinct),
    );
    push_change(
        &mut parts,
        "",
        &from.deferrable.to_string(),
        &to.deferrable.to_string(),
    );
    parts
}

/// `(expression)`, then `not valid` when set.
impl fmt::Display for CheckConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({})", self.expression)?;
        if self.not_valid {
            f.write_str(" not valid")?;
        }
        Ok(())
    }
}

/// `valid` or `not valid`.
fn validity(not_valid: bool) -> &'static str {
    if not_valid { "not valid" } else { "valid" }
}

/// `no action`, `restrict`, `cascade`, `set null`, `set default`.
impl fmt::Display for ForeignKeyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_sql().to_lowercase())
    }
}

/// `not deferrable`, `deferrable initially immediate`, `deferrable initially deferred`.
impl fmt::Display for Deferrable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Deferrable::NotDeferrable => "not deferrable",
            Deferrable::InitiallyImmediate => "deferrable initially immediate",
            Deferrable::InitiallyDeferred => "deferrable initially deferred",
        })
    }
}

/// `schema.table(a, b)` or `table(a, b)`.
fn referenced(fk: &ForeignKey) -> String {
    let schema = fk
        .referenced_schema
        .as_ref()
        .map(|s| format!("{s}."))
        .unwrap_or_default();
    format!(
        "{schema}{}({})",
        fk.referenced_table,
        fk.referenced_columns.join(", ")
    )
}

/// The delete action with the columns it sets: `set null (a)`.
fn on_delete(fk: &ForeignKey) -> String {
    if fk.delete_set_columns.is_empty() {
        fk.on_delete.to_string()
    } else {
        format!("{} {}", fk.on_delete, list(&fk.delete_set_columns))
    }
}

/// `(a) references t(id)`, then what is not the default: `match full`, `on delete
/// set null (a)`, `on update cascade`, `deferrable initially deferred`, `not valid`.
impl fmt::Display for ForeignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} references {}", list(&self.columns), referenced(self))?;
        if self.match_full {
            f.write_str(" match full")?;
        }
        if !self.on_delete.is_no_action() || !self.delete_set_columns.is_empty() {
            write!(f, " on delete {}", on_delete(self))?;
        }
        if !self.on_update.is_no_action() {
            write!(f, " on update {}", self.on_update)?;
        }
        if !self.deferrable.is_not_deferrable() {
            write!(f, " {}", self.deferrable)?;
        }
        if self.not_valid {
            f.write_str(" not valid")?;
        }
        Ok(())
    }
}

pub(super) fn foreign_key_changes(from: &ForeignKey, to: &ForeignKey) -> Vec<String> {
    let mut parts = Vec::new();
    push_change(
        &mut parts,
        "columns",
        &list(&from.columns),
        &list(&to.columns),
    );
    push_change(&mut parts, "references", &referenced(from), &referenced(to));
    let matching = |fk: &ForeignKey| {
        if fk.match_full {
            "match full"
        } else {
            "match simple"
        }
    };
    push_change(&mut parts, "", matching(from), matching(to));
    push_change(&mut parts, "on delete", &on_delete(from), &on_delete(to));
    push_change(
        &mut parts,
        "on update",
        &from.on_update.to_string(),
        &to.on_update.to_string(),
    );
    push_change(
        &mut parts,
        "",
        &from.deferrable.to_string(),
        &to.deferrable.to_string(),
    );
    push_change(
        &mut parts,
        "",
        validity(from.not_valid),
        validity(to.not_valid),
    );
    parts
}

/// What follows an index key beyond its direction: ` collate "C" text_pattern_ops`,
/// then ` nulls first` or ` nulls last` when it is not the direction's default.
fn key_options(options: &KeyOptions) -> String {
    let mut text = String::new();
    if let Some(collation) = &options.collation {
        text.push_str(&format!(" collate {collation}"));
    }
    if let Some(class) = &options.operator_class {
        text.push_str(&format!(" {class}"));
    }
    text
}

/// ` nulls first` or ` nulls last` when set.
fn nulls_order(options: &KeyOptions) -> &'static str {
    match options.nulls_first {
        Some(true) => " nulls first",
        Some(false) => " nulls last",
        None => "",
    }
}

/// One index part: `name`, `name(10)`, `(lower(name))`, then its collation and
/// operator class, ` desc` when descending and the nulls order when not the default.
fn index_part(part: &IndexPart) -> String {
    let desc = |descending: bool| if descending { " desc" } else { "" };
    match part {
        IndexPart::Column {
            name,
            descending,
            prefix_length,
            options,
        } => {
            let prefix = prefix_length.map(|l| format!("({l})")).unwrap_or_default();
            format!(
                "{name}{prefix}{}{}{}",
                key_options(options),
                desc(*descending),
                nulls_order(options)
            )
        }
        IndexPart::Expression {
            sql,
            descending,
            options,
        } => format!(
            "({sql}){}{}{}",
            key_options(options),
            desc(*descending),
            nulls_order(options)
        ),
    }
}

/// `with (fillfactor=70)`, or `default`.
fn storage_parameters(index: &Index) -> String {
    if index.storage_parameters.is_empty() {
        return "default".to_string();
    }
    let list: Vec<String> = index
        .storage_parameters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("with ({})", list.join(", "))
}

fn index_parts(index: &Index) -> String {
    let parts: Vec<String> = index.parts.iter().map(index_part).collect();
    list(&parts)
}

/// `unique using gin (a, (lower(b)) desc) include (c) nulls not distinct with
/// (fillfactor=70) where deleted_at is null invisible`: only the parts that are set.
impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unique {
            f.write_str("unique ")?;
        }
        if let Some(method) = &self.method {
            write!(f, "using {method} ")?;
        }
        f.write_str(&index_parts(self))?;
        if !self.include.is_empty() {
            write!(f, " include {}", list(&self.include))?;
        }
        if self.nulls_not_distinct {
            f.write_str(" nulls not distinct")?;
        }
        if !self.storage_parameters.is_empty() {
            write!(f, " {}", storage_parameters(self))?;
        }
        if let Some(predicate) = &self.predicate {
            write!(f, " where {predicate}")?;
        }
        if let Some(parser) = &self.parser {
            write!(f, " with parser {parser}")?;
        }
        if self.invisible {
            f.write_str(" invisible")?;
        }
        Ok(())
    }
}

pub(super) fn index_changes(from: &Index, to: &Index) -> Vec<String> {
    let mut parts = Vec::new();
    push_change(&mut parts, "columns", &index_parts(from), &index_parts(to));
    let unique = |i: &Index| if i.unique { "unique" } else { "not unique" };
    push_change(&mut parts, "", unique(from), unique(to));
    push_change(
        &mut parts,
        "using",
        or_default(&from.method),
        or_default(&to.method),
    );
    push_change(
        &mut parts,
        "where",
        or_none(&from.predicate),
        or_none(&to.predicate),
    );
    let include = |i: &Index| {
        if i.include.is_empty() {
            "none".to_string()
        } else {
            list(&i.include)
        }
    };
    push_change(&mut parts, "include", &include(from), &include(to));
    push_change(
        &mut parts,
        "",
        distinctness(from.nulls_not_distinct),
        distinctness(to.nulls_not_distinct),
    );
    push_change(
        &mut parts,
        "storage",
        &storage_parameters(from),
        &storage_parameters(to),
    );
    push_change(
        &mut parts,
        "parser",
        or_default(&from.parser),
        or_default(&to.parser),
    );
    let visible = |i: &Index| if i.invisible { "invisible" } else { "visible" };
    push_change(&mut parts, "", visible(from), visible(to));
    parts
}

pub(super) fn view_kind(view: &View) -> &'static str {
    if view.materialized {
        "materialized view"
    } else {
        "view"
    }
}

pub(super) fn describe_view(view: &View) -> String {
    view.comment
        .as_ref()
        .map(|c| format!("comment {}", sql_string(c)))
        .unwrap_or_default()
}

pub(super) fn view_changes(from: &View, to: &View) -> Vec<String> {
    let mut parts = Vec::new();
    push_change(&mut parts, "", view_kind(from), view_kind(to));
    if from.definition != to.definition {
        parts.push("definition changed".to_string());
    }
    if from.depends_on != to.depends_on && from.definition == to.definition {
        parts.push("dependencies changed".to_string());
    }
    push_change(
        &mut parts,
        "comment",
        &or_none_quoted(&from.comment),
        &or_none_quoted(&to.comment),
    );
    for (name, index) in &from.indexes {
        match to.indexes.get(name) {
            None => parts.push(format!("drop index {name}")),
            Some(target) if target != index => parts.push(format!(
                "index {name}: {}",
                index_changes(index, target).join(", ")
            )),
            Some(_) => {}
        }
    }
    for (name, index) in &to.indexes {
        if !from.indexes.contains_key(name) {
            parts.push(format!("add index {name} {index}"));
        }
    }
    parts
}

/// `as bigint start 1 increment 1 minvalue 1 maxvalue 100 cache 1`, then `cycle` and
/// `owned by t.c` when set.
impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "as {} start {} increment {} minvalue {} maxvalue {} cache {}",
            self.data_type, self.start, self.increment, self.min_value, self.max_value, self.cache
        )?;
        if self.cycle {
            f.write_str(" cycle")?;
        }
        if let Some(owner) = &self.owned_by {
            write!(f, " owned by {owner}")?;
        }
        Ok(())
    }
}

pub(super) fn sequence_changes(from: &Sequence, to: &Sequence) -> Vec<String> {
    let mut parts = Vec::new();
    push_change(
        &mut parts,
        "as",
        &from.data_type.to_string(),
        &to.data_type.to_string(),
    );
    let numbers = [
        ("start", from.start, to.start),
        ("increment", from.increment, to.increment),
        ("minvalue", from.min_value, to.min_value),
        ("maxvalue", from.max_value, to.max_value),
        ("cache", from.cache, to.cache),
    ];
    for (label, a, b) in numbers {
        push_change(&mut parts, label, &a.to_string(), &b.to_string());
    }
    let cycle = |s: &Sequence| if s.cycle { "cycle" } else { "no cycle" };
    push_change(&mut parts, "", cycle(from), cycle(to));
    push_change(
        &mut parts,
        "owned by",
        or_none(&from.owned_by),
        or_none(&to.owned_by),
    );
    parts
}

/// A sequence change: the changed parameters (`increment 1 -> 2, no cycle -> cycle`).
impl fmt::Display for Change<Sequence> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { to } => write!(f, "{to}"),
            Change::Removed { from } => write!(f, "{from}"),
            Change::Modified { from, to } => f.write_str(&sequence_changes(from, to).join(", ")),
        }
    }
}

/// `('happy', 'sad')`.
impl fmt::Display for EnumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<String> = self.values.iter().map(|v| sql_string(v)).collect();
        f.write_str(&list(&values))
    }
}

/// `schema public`, or nothing when the extension's schema is the default.
impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "schema {schema}"),
            None => Ok(()),
        }
    }
}

/// The storage options that are set: `engine InnoDB charset utf8mb4 collate utf8mb4_bin
/// without rowid strict`, `unlogged with (fillfactor=70) row level security forced`, or
/// `default`.
impl fmt::Display for TableOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.unlogged {
            parts.push("unlogged".to_string());
        }
        if !self.storage_parameters.is_empty() {
            parts.push(format!("with {}", table_storage_parameters(self)));
        }
        if self.row_security || self.force_row_security {
            parts.push(row_security(self).to_string());
        }
        if let Some(engine) = &self.engine {
            parts.push(format!("engine {engine}"));
        }
        if let Some(charset) = &self.charset {
            parts.push(format!("charset {charset}"));
        }
        if let Some(collation) = &self.collation {
            parts.push(format!("collate {collation}"));
        }
        if self.without_rowid {
            parts.push("without rowid".to_string());
        }
        if self.strict {
            parts.push("strict".to_string());
        }
        for (label, value) in mysql_create_options(self) {
            if let Some(value) = value {
                parts.push(format!("{label} {value}"));
            }
        }
        if parts.is_empty() {
            f.write_str("default")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

pub(super) fn options_changes(from: &TableOptions, to: &TableOptions) -> Vec<String> {
    let mut parts = Vec::new();
    push_change(
        &mut parts,
        "engine",
        or_default(&from.engine),
        or_default(&to.engine),
    );
    push_change(
        &mut parts,
        "charset",
        or_default(&from.charset),
        or_default(&to.charset),
    );
    push_change(
        &mut parts,
        "collate",
        or_default(&from.collation),
        or_default(&to.collation),
    );
    let rowid = |o: &TableOptions| {
        if o.without_rowid {
            "without rowid"
        } else {
            "with rowid"
        }
    };
    push_change(&mut parts, "", rowid(from), rowid(to));
    let strict = |o: &TableOptions| if o.strict { "strict" } else { "not strict" };
    push_change(&mut parts, "", strict(from), strict(to));
    let logged = |o: &TableOptions| if o.unlogged { "unlogged" } else { "logged" };
    push_change(&mut parts, "", logged(from), logged(to));
    push_change(
        &mut parts,
        "storage parameters",
        &table_storage_parameters(from),
        &table_storage_parameters(to),
    );
    push_change(&mut parts, "", row_security(from), row_security(to));
    for ((label, from), (_, to)) in mysql_create_options(from)
        .into_iter()
        .zip(mysql_create_options(to))
    {
        push_change(&mut parts, label, or_default(&from), or_default(&to));
    }
    parts
}

/// MySQL's create options by label (`row_format`, `stats_persistent`, ...), each with
/// its value when declared.
fn mysql_create_options(options: &TableOptions) -> [(&'static str, Option<String>); 7] {
    let flag = |value: Option<bool>| value.map(|v| u8::from(v).to_string());
    [
        ("row_format", options.row_format.clone()),
        (
            "key_block_size",
            options.key_block_size.map(|v| v.to_string()),
        ),
        ("stats_persistent", flag(options.stats_persistent)),
        ("stats_auto_recalc", flag(options.stats_auto_recalc)),
        (
            "stats_sample_pages",
            options.stats_sample_pages.map(|v| v.to_string()),
        ),
        ("transactional", flag(options.transactional)),
        ("page_checksum", flag(options.page_checksum)),
    ]
}

/// `(fillfactor=70, autovacuum_enabled=false)`, or `()`.
fn table_storage_parameters(options: &TableOptions) -> String {
    let parameters: Vec<String> = options
        .storage_parameters
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    list(&parameters)
}

/// Whether row-level security is enabled and forced on the owner.
fn row_security(options: &TableOptions) -> &'static str {
    match (options.row_security, options.force_row_security) {
        (false, false) => "no row level security",
        (true, false) => "row level security",
        (false, true) => "no row level security (forced)",
        (true, true) => "row level security forced",
    }
}

/// `as restrictive for select to app_user using (...) with check (...)`; the defaults
/// (permissive, for all) are left out.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.restrictive {
            parts.push("as restrictive".to_string());
        }
        if !self.command.is_all() {
            parts.push(format!("for {}", self.command.as_sql().to_lowercase()));
        }
        parts.push(format!("to {}", self.roles.join(", ")));
        if let Some(using) = &self.using {
            parts.push(format!("using ({using})"));
        }
        if let Some(check) = &self.with_check {
            parts.push(format!("with check ({check})"));
        }
        f.write_str(&parts.join(" "))
    }
}

/// The changed attributes of a policy, each `attribute before -> after`.
pub(super) fn policy_changes(from: &Policy, to: &Policy) -> Vec<String> {
    let mut parts = Vec::new();
    let kind = |p: &Policy| {
        if p.restrictive {
            "restrictive"
        } else {
            "permissive"
        }
    };
    push_change(&mut parts, "", kind(from), kind(to));
    push_change(
        &mut parts,
        "for",
        &from.command.as_sql().to_lowercase(),
        &to.command.as_sql().to_lowercase(),
    );
    push_change(
        &mut parts,
        "to",
        &from.roles.join(", "),
        &to.roles.join(", "),
    );
    push_change(
        &mut parts,
        "using",
        or_none(&from.using),
        or_none(&to.using),
    );
    push_change(
        &mut parts,
        "with check",
        or_none(&from.with_check),
        or_none(&to.with_check),
    );
    parts
}

/// The changed attributes of a trigger: when it fires, or its definition.
pub(super) fn trigger_changes(from: &Trigger, to: &Trigger) -> Vec<String> {
    let mut parts = Vec::new();
    if from.definition != to.definition {
        parts.push("definition changed".to_string());
    }
    push_change(
        &mut parts,
        "",
        &from.enabled.to_string(),
        &to.enabled.to_string(),
    );
    parts
}

/// A table-options change: the changed options (`engine Aria -> InnoDB`).
impl fmt::Display for Change<TableOptions> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = TableOptions::default();
        let (from, to) = match self {
            Change::Added { to } => (&default, to),
            Change::Removed { from } => (from, &default),
            Change::Modified { from, to } => (from, to),
        };
        f.write_str(&options_changes(from, to).join(", "))
    }
}

/// `policy p on users`, or `event e` when it hangs off no table.
pub(super) fn describe_unsupported(object: &UnsupportedObject) -> String {
    match &object.parent {
        Some(parent) => format!("{} {} on {parent}", object.kind, object.name),
        None => format!("{} {}", object.kind, object.name),
    }
}

impl fmt::Display for crate::snapshot::Grant {
    /// `SELECT to app_reader`, with `(grantable)` when it carries the grant option.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {}", self.privilege, self.grantee)?;
        if self.grantable {
            f.write_str(" (grantable)")?;
        }
        Ok(())
    }
}

impl fmt::Display for crate::snapshot::TriggerEnabled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::snapshot::TriggerEnabled::*;
        f.write_str(match self {
            Origin => "enabled",
            Disabled => "disabled",
            Replica => "enabled replica",
            Always => "enabled always",
        })
    }
}
