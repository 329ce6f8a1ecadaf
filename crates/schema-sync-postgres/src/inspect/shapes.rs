//! Deparse once per shape: tenants whose raw catalogs are the same, up to the oids of
//! their own objects, get the same deparsed text, so only one of them is deparsed.
//!
//! For each tenant of a batch, the raw inputs of every deparsed text
//! ([`crate::catalog::shapes`]) are made tenant-relative and hashed into a fingerprint:
//!
//! - every object in the schema gets a **token** that names it without its oid
//!   (`R` + relkind + name for a relation, `K` + its relation's token + name for a
//!   constraint, and so on); oids of the tenant's own objects are replaced by these
//!   tokens wherever they are read, and oids of anything else (built-ins, other schemas)
//!   are kept as they are: the same oid is the same object, printed the same way;
//! - stored trees (`pg_node_tree`) have their `:location` values dropped (offsets in the
//!   statement that created the object, never printed) and the oids in their oid fields
//!   replaced, including the oid inside a `regclass` (and other `reg*`) constant such as
//!   `nextval('orders_id_seq'::regclass)`;
//! - the fingerprint also holds every object's token (what a name resolves to, and so
//!   whether a built-in must be printed schema-qualified) and every column's name, type,
//!   typmod and collation (what a column number in a tree prints as).
//!
//! Tenants with the same fingerprint form a group; its first tenant is deparsed, and its
//! text is handed to the others through the tokens. Soundness rests on one rule: a
//! number is replaced only where the tree's format says it is an oid; an oid field this
//! module does not know keeps its number, which only splits groups (each tenant's own
//! oids differ) and costs speed, never correctness. A tenant whose role lacks `USAGE` on
//! its schema (its text comes out qualified, then stripped of its own schema name) is a
//! group of its own. Functions are always deparsed per tenant
//! ([`crate::catalog::shapes`]).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::catalog::{DeparseRequest, Deparsed, RawRow};

/// Oid fields of stored trees (`outfuncs.c`): a number after one of these names is an
/// oid. Fields of other nodes that happen to share a name are oids too, or small enum
/// values that never equal a tenant object's oid (those start at 16384).
const OID_FIELDS: &[&str] = &[
    "relid",
    "vartype",
    "varcollid",
    "consttype",
    "constcollid",
    "paramtype",
    "paramcollid",
    "aggfnoid",
    "aggtype",
    "aggcollid",
    "inputcollid",
    "aggtranstype",
    "winfnoid",
    "wintype",
    "wincollid",
    "refcontainertype",
    "refelemtype",
    "refrestype",
    "refcollid",
    "funcid",
    "funcresulttype",
    "funccollid",
    "opno",
    "opfuncid",
    "opresulttype",
    "opcollid",
    "hashfuncid",
    "negfuncid",
    "firstColType",
    "firstColCollation",
    "resulttype",
    "resultcollid",
    "collOid",
    "casetype",
    "casecollid",
    "typeId",
    "collation",
    "array_typeid",
    "array_collid",
    "element_typeid",
    "row_typeid",
    "coalescetype",
    "coalescecollid",
    "minmaxtype",
    "minmaxcollid",
    "type",
    "seqid",
    "resorigtbl",
    "eqop",
    "sortop",
    "startInRangeFunc",
    "endInRangeFunc",
    "inRangeColl",
    "tsmhandler",
    "constraint",
];

/// Fields holding a list of oids, printed `(o 1 2 3)`.
const OID_LIST_FIELDS: &[&str] = &[
    "aggargtypes",
    "opnos",
    "opfamilies",
    "inputcollids",
    "coltypes",
    "colcollations",
    "funccoltypes",
    "funccolcollations",
    "colTypes",
    "colCollations",
    "constraintDeps",
];

/// The first oid of an object a user created (`FirstNormalObjectId`): those below are
/// built into the server and keep their names.
const FIRST_NORMAL_OBJECT_ID: u32 = 16384;

/// Fields that never reach deparsed text: source offsets.
const LOCATION_FIELDS: &[&str] = &["location", "stmt_location", "stmt_len"];

/// Types whose constants hold an oid (`regclass`, `regtype`, ..., `oid`).
const OID_CONSTANT_TYPES: &[u32] = &[
    24, 26, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096, 4191,
];

/// Row fields (of the JSON rows of `t` and `P`) that hold oids or oid vectors.
const OID_ROW_FIELDS: &[&str] = &[
    "tgrelid",
    "tgparentid",
    "tgfoid",
    "tgconstrrelid",
    "tgconstrindid",
    "tgconstraint",
    "partrelid",
    "partdefid",
    "partclass",
    "partcollation",
];

/// Row fields that hold stored trees.
const TREE_ROW_FIELDS: &[&str] = &["tgqual", "partexprs"];

/// Row fields dropped from the fingerprint: the row's own oid, which its token stands for.
const DROPPED_ROW_FIELDS: &[&str] = &["oid"];

/// One tenant's raw rows, tokens and fingerprint.
#[derive(Debug, Default)]
struct Tenant {
    /// Oid of each object in the schema to its token.
    tokens: HashMap<u32, String>,
    /// Token to oid (the inverse, for handing text over).
    oids: HashMap<String, u32>,
    /// Whether the role may use the schema (else the tenant is deparsed alone).
    usage: bool,
    /// The fingerprint's lines.
    lines: Vec<String>,
    /// Whether the fingerprint names a user object of another schema (or an extension's)
    /// by oid: its name can change without changing the fingerprint, so the shape's text
    /// may be shared within the batch that read both, never kept for later.
    external: Cell<bool>,
}

impl Tenant {
    fn map(&self, oid: u32) -> Option<&str> {
        self.tokens.get(&oid).map(String::as_str)
    }

    /// `oid` as its token where it is the tenant's, else as the number.
    fn relative(&self, oid: &str) -> String {
        let number = oid.parse::<u32>().ok();
        match number.and_then(|o| self.map(o)) {
            Some(token) => format!("@{token}"),
            None => {
                self.note_foreign(number);
                oid.to_string()
            }
        }
    }

    /// Notes an oid that is not the tenant's: one of a user object elsewhere makes the
    /// shape [`external`](Self::external).
    fn note_foreign(&self, oid: Option<u32>) {
        if oid.is_some_and(|o| o >= FIRST_NORMAL_OBJECT_ID) {
            self.external.set(true);
        }
    }

    /// Each space-separated oid of a vector made relative.
    fn relative_vector(&self, oids: &str) -> String {
        oids.split(' ')
            .map(|o| self.relative(o))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Deparsed text keyed by each object's token instead of its oid: the same for every
/// tenant of one shape.
type ShapeText = HashMap<(char, String, i32), String>;

/// How many shapes a [`ShapeCache`] holds before it starts over.
const SHAPE_CACHE_LIMIT: usize = 256;

/// The deparsed text of shapes already deparsed by this adapter, by fingerprint, across
/// the batches of a fleet read: a tenant whose shape an earlier batch deparsed is not
/// deparsed again, so a fleet of one shape is deparsed once, not once per batch.
///
/// Sound for the reason grouping within a batch is: the fingerprint holds every input of
/// the text, up to the tenant's own oids. Across time one more input counts: the names of
/// objects the text names by oid. Built-in objects keep theirs; a shape that names a user
/// object of another schema (a shared function a default calls, an extension's type) is
/// never kept, since renaming that object changes the text and not the fingerprint.
#[derive(Debug, Default)]
pub(crate) struct ShapeCache {
    shapes: Mutex<HashMap<blake3::Hash, Arc<ShapeText>>>,
}

impl ShapeCache {
    /// The text of `shape`, when it was deparsed before.
    fn get(&self, shape: &blake3::Hash) -> Option<Arc<ShapeText>> {
        let shapes = self.shapes.lock().unwrap_or_else(PoisonError::into_inner);
        shapes.get(shape).map(Arc::clone)
    }

    /// Keeps the text of `shape`, starting over when the cache is full.
    fn insert(&self, shape: blake3::Hash, text: ShapeText) {
        let mut shapes = self.shapes.lock().unwrap_or_else(PoisonError::into_inner);
        if shapes.len() >= SHAPE_CACHE_LIMIT {
            shapes.clear();
        }
        shapes.insert(shape, Arc::new(text));
    }
}

/// Which tenants share a deparse, and how a representative's text reaches the others.
#[derive(Debug, Default)]
pub(crate) struct Shapes {
    tenants: HashMap<u32, Tenant>,
    /// Namespace to the namespace of its group's representative (itself for one).
    representative: HashMap<u32, u32>,
    /// Fingerprint of each representative that may be cached: its role may use the
    /// schema and it names no user object elsewhere.
    fingerprint_of: HashMap<u32, blake3::Hash>,
    /// Representatives whose text a [`ShapeCache`] already holds: not deparsed at all.
    cached: HashMap<u32, Arc<ShapeText>>,
}

impl Shapes {
    /// Groups the namespaces of `rows` by fingerprint.
    pub(crate) fn group(rows: Vec<RawRow>) -> Self {
        let mut by_namespace: HashMap<u32, Vec<RawRow>> = HashMap::new();
        for row in rows {
            by_namespace.entry(row.namespace).or_default().push(row);
        }
        let mut tenants: HashMap<u32, Tenant> = by_namespace
            .into_iter()
            .map(|(ns, rows)| (ns, fingerprint(&rows)))
            .collect();
        let mut namespaces: Vec<u32> = tenants.keys().copied().collect();
        namespaces.sort_unstable();
        let mut first_of: HashMap<blake3::Hash, u32> = HashMap::new();
        let mut representative = HashMap::new();
        let mut fingerprint_of = HashMap::new();
        for ns in namespaces {
            let Some(tenant) = tenants.get_mut(&ns) else {
                continue;
            };
            let lines = std::mem::take(&mut tenant.lines);
            let rep = if tenant.usage {
                let mut hasher = blake3::Hasher::new();
                for line in &lines {
                    hasher.update(line.as_bytes());
                    hasher.update(b"\n");
                }
                let hash = hasher.finalize();
                let rep = *first_of.entry(hash).or_insert(ns);
                if !tenant.external.get() {
                    fingerprint_of.insert(rep, hash);
                }
                rep
            } else {
                ns
            };
            representative.insert(ns, rep);
        }
        Self {
            tenants,
            representative,
            fingerprint_of,
            cached: HashMap::new(),
        }
    }

    /// Takes from `cache` the text of every shape it holds: those shapes are not
    /// deparsed ([`Shapes::narrow`]) but handed over from the cache.
    pub(crate) fn consult(&mut self, cache: &ShapeCache) {
        for (rep, shape) in &self.fingerprint_of {
            if let Some(text) = cache.get(shape) {
                self.cached.insert(*rep, text);
            }
        }
    }

    /// Keeps in `cache` the text of every shape deparsed in this batch.
    pub(crate) fn remember(&self, cache: &ShapeCache, deparsed: &HashMap<u32, Deparsed>) {
        for (rep, shape) in &self.fingerprint_of {
            if self.cached.contains_key(rep) {
                continue;
            }
            let (Some(tenant), Some(text)) = (self.tenants.get(rep), deparsed.get(rep)) else {
                continue;
            };
            let by_token: ShapeText = text
                .iter()
                .filter(|((kind, _, _), _)| is_shape_text(*kind))
                .filter_map(|((kind, oid, number), text)| {
                    let token = tenant.map(*oid)?;
                    Some(((*kind, token.to_string(), *number), text.clone()))
                })
                .collect();
            cache.insert(*shape, by_token);
        }
    }

    /// How many distinct shapes the batch has.
    #[cfg(test)]
    fn distinct(&self) -> usize {
        let mut reps: Vec<u32> = self.representative.values().copied().collect();
        reps.sort_unstable();
        reps.dedup();
        reps.len()
    }

    /// The namespace whose deparsed text `namespace` gets (itself when not grouped).
    pub(crate) fn representative_of(&self, namespace: u32) -> u32 {
        self.representative
            .get(&namespace)
            .copied()
            .unwrap_or(namespace)
    }

    /// Whether `namespace` is deparsed itself (a representative whose shape is not
    /// cached, or not grouped).
    pub(crate) fn deparses_itself(&self, namespace: u32) -> bool {
        !self.cached.contains_key(&namespace)
            && self
                .representative
                .get(&namespace)
                .is_none_or(|rep| *rep == namespace)
    }

    /// Narrows a request to what must be deparsed: everything for a representative,
    /// only the functions for a tenant that gets its text from its representative.
    pub(crate) fn narrow(&self, mut request: DeparseRequest) -> DeparseRequest {
        if !self.deparses_itself(request.namespace) {
            request.tables.clear();
            request.views.clear();
            request.domains.clear();
        }
        request
    }

    /// Completes the deparsed text of every grouped tenant from its representative's
    /// (or from the cache, for a cached shape), keyed by the tenant's own oids.
    pub(crate) fn hand_over(&self, deparsed: &mut HashMap<u32, Deparsed>) {
        for (ns, rep) in &self.representative {
            let Some(to) = self.tenants.get(ns) else {
                continue;
            };
            let handed: Vec<((char, u32, i32), String)> = if let Some(cached) = self.cached.get(rep)
            {
                cached
                    .iter()
                    .filter_map(|((kind, token, number), text)| {
                        let own = to.oids.get(token)?;
                        Some(((*kind, *own, *number), text.clone()))
                    })
                    .collect()
            } else {
                let (Some(from), Some(source)) = (self.tenants.get(rep), deparsed.get(rep)) else {
                    continue;
                };
                if ns == rep {
                    continue;
                }
                source
                    .iter()
                    .filter(|((kind, _, _), _)| is_shape_text(*kind))
                    .filter_map(|((kind, oid, number), text)| {
                        let token = from.map(*oid)?;
                        let own = to.oids.get(token)?;
                        Some(((*kind, *own, *number), text.clone()))
                    })
                    .collect()
            };
            deparsed.entry(*ns).or_default().extend(handed);
        }
    }
}

/// Whether deparsed text of `kind` belongs to the shape, and so may be handed from one
/// tenant to another; functions' texts and the schema's own name are each tenant's.
fn is_shape_text(kind: char) -> bool {
    !matches!(kind, 'f' | 's' | 'q' | 'n' | 'u')
}

/// Tokens, usage and fingerprint lines of one tenant's raw rows.
fn fingerprint(rows: &[RawRow]) -> Tenant {
    let mut tenant = Tenant::default();
    let add = |tenant: &mut Tenant, oid: u32, token: String| {
        tenant
            .tokens
            .entry(oid)
            .and_modify(|t| {
                t.push('|');
                t.push_str(&token);
            })
            .or_insert(token);
    };
    // Objects that stand alone first, then those named after their parent.
    for row in rows {
        match row.tag {
            'R' | 'T' | 'N' => add(&mut tenant, row.oid, format!("{}{}", row.tag, row.text)),
            _ => {}
        }
    }
    let mut dependent: Vec<(u32, String)> = Vec::new();
    for row in rows {
        let token = match row.tag {
            'F' | 'O' => {
                let (name, types) = row.text.split_once('\t').unwrap_or((&row.text, ""));
                format!("{}{name}({})", row.tag, tenant.relative_vector(types))
            }
            'K' | 'G' | 'Q' | 'E' => {
                let (parents, name) = row.text.split_once('\t').unwrap_or(("", &row.text));
                format!("{}{}/{name}", row.tag, tenant.relative_vector(parents))
            }
            _ => continue,
        };
        dependent.push((row.oid, token));
    }
    for (oid, token) in dependent {
        add(&mut tenant, oid, token);
    }
    tenant.oids = tenant
        .tokens
        .iter()
        .map(|(oid, token)| (token.clone(), *oid))
        .collect();
    tenant.usage = rows.iter().any(|r| r.tag == 'U' && r.text == "true");

    let mut lines: Vec<String> = tenant.tokens.values().map(|t| format!("I {t}")).collect();
    for row in rows {
        let own = || tenant.relative(&row.oid.to_string());
        let line = match row.tag {
            'R' | 'T' | 'N' | 'F' | 'O' | 'K' | 'G' | 'Q' | 'E' => continue,
            'U' => format!("U {}", row.text),
            'A' => {
                let (name, rest) = row.text.split_once('\t').unwrap_or((&row.text, ""));
                let mut fields = rest.split(' ');
                let (ty, typmod, collation, dropped) = (
                    fields.next().unwrap_or_default(),
                    fields.next().unwrap_or_default(),
                    fields.next().unwrap_or_default(),
                    fields.next().unwrap_or_default(),
                );
                format!(
                    "A {} {} {name} {} {typmod} {} {dropped}",
                    own(),
                    row.number,
                    tenant.relative(ty),
                    tenant.relative(collation)
                )
            }
            'k' => {
                let (keys, tree) = row.text.split_once('\t').unwrap_or(("", &row.text));
                let (table, indkey) = keys.split_once(' ').unwrap_or((keys, ""));
                format!(
                    "k {} {} {indkey} {}",
                    own(),
                    tenant.relative(table),
                    relative_tree(tree, &tenant)
                )
            }
            't' | 'P' => format!("{} {} {}", row.tag, own(), relative_row(&row.text, &tenant)),
            _ => format!(
                "{} {} {} {}",
                row.tag,
                own(),
                row.number,
                relative_tree(&row.text, &tenant)
            ),
        };
        lines.push(line);
    }
    lines.sort_unstable();
    tenant.lines = lines;
    tenant
}

/// A stored tree with locations dropped and the tenant's oids replaced by tokens; the
/// rest is copied byte for byte.
fn relative_tree(tree: &str, tenant: &Tenant) -> String {
    let mut out = String::with_capacity(tree.len());
    let mut field: Option<&str> = None;
    let mut in_oid_list = false;
    let mut constant_type: Option<u32> = None;
    // The bytes of an oid constant being collected, and the text they came from.
    let mut constant: Option<(Vec<u8>, String)> = None;
    let mut rest = tree;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| !c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        match constant.as_mut() {
            Some((_, text)) => text.push_str(&rest[..start]),
            None => out.push_str(&rest[..start]),
        }
        rest = &rest[start..];
        if rest.is_empty() {
            break;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..end];
        rest = &rest[end..];

        if let Some((bytes, text)) = constant.as_mut() {
            text.push_str(token);
            // The list ends with `]`, followed at once by the node's closing braces.
            if let Some(after) = token.strip_prefix(']') {
                // Only a whole four-byte value (printed as a Datum, zero-padded) is an oid.
                let oid = match bytes.as_slice() {
                    [b0, b1, b2, b3, rest @ ..] if rest.iter().all(|b| *b == 0) => {
                        Some(u32::from_le_bytes([*b0, *b1, *b2, *b3]))
                    }
                    _ => None,
                };
                let own = oid.and_then(|o| tenant.map(o));
                if own.is_none() {
                    tenant.note_foreign(oid);
                }
                match own {
                    Some(name) => {
                        out.push_str("[@");
                        out.push_str(name);
                        out.push(']');
                    }
                    None => out.push_str(&text[..text.len() - after.len()]),
                }
                out.push_str(after);
                constant = None;
            } else if let Ok(byte) = token.parse::<i16>() {
                // outDatum prints each byte as a signed char.
                bytes.push(byte as u8);
            }
            continue;
        }
        if let Some(name) = token.strip_prefix(':') {
            field = Some(name);
            in_oid_list = false;
            out.push_str(token);
            continue;
        }
        // A value may be followed at once by the braces and parentheses that close it.
        let value = token.trim_end_matches(['}', ')']);
        let closers = &token[value.len()..];
        match field {
            Some(name) if LOCATION_FIELDS.contains(&name) && value.parse::<i64>().is_ok() => {
                out.push('_');
                out.push_str(closers);
                field = None;
            }
            Some("consttype") => {
                constant_type = value.parse().ok();
                out.push_str(&tenant.relative(value));
                out.push_str(closers);
                field = None;
            }
            Some("constvalue") if token == "[" && holds_oid(constant_type, tenant) => {
                constant = Some((Vec::new(), String::from("[")));
            }
            Some(name) if OID_FIELDS.contains(&name) => {
                out.push_str(&tenant.relative(value));
                out.push_str(closers);
                field = None;
            }
            Some(name) if OID_LIST_FIELDS.contains(&name) => {
                if token == "(o" {
                    in_oid_list = true;
                    out.push_str(token);
                } else if in_oid_list {
                    out.push_str(&tenant.relative(value));
                    out.push_str(closers);
                    if !closers.is_empty() {
                        in_oid_list = false;
                        field = None;
                    }
                } else {
                    out.push_str(token);
                }
            }
            _ => out.push_str(token),
        }
    }
    out
}

/// Whether a constant of type `constant_type` holds an oid: an oid or `reg*` type, or
/// one of the tenant's enums (whose values are the oids of their labels).
fn holds_oid(constant_type: Option<u32>, tenant: &Tenant) -> bool {
    constant_type.is_some_and(|t| {
        OID_CONSTANT_TYPES.contains(&t)
            || tenant.map(t).is_some_and(|token| token.starts_with("Te"))
    })
}

/// A catalog row as JSON with its own oid dropped, oid fields made relative and tree
/// fields made relative as trees. A row that does not parse is kept as it is.
fn relative_row(json: &str, tenant: &Tenant) -> String {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str::<serde_json::Value>(json)
    else {
        return json.to_string();
    };
    for name in DROPPED_ROW_FIELDS {
        fields.remove(*name);
    }
    for (name, value) in fields.iter_mut() {
        let relative = match value {
            serde_json::Value::Number(n) if OID_ROW_FIELDS.contains(&name.as_str()) => {
                tenant.relative(&n.to_string())
            }
            serde_json::Value::String(s) if OID_ROW_FIELDS.contains(&name.as_str()) => {
                tenant.relative_vector(s)
            }
            serde_json::Value::String(s) if TREE_ROW_FIELDS.contains(&name.as_str()) => {
                relative_tree(s, tenant)
            }
            _ => continue,
        };
        *value = serde_json::Value::String(relative);
    }
    serde_json::Value::Object(fields).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(own: &[(u32, &str)]) -> Tenant {
        Tenant {
            tokens: own.iter().map(|(o, t)| (*o, t.to_string())).collect(),
            usage: true,
            ..Tenant::default()
        }
    }

    #[test]
    fn locations_go_and_own_oids_become_tokens_wherever_the_format_says_oid() {
        let a = tenant(&[(17000, "Sorders_id_seq"), (17001, "Tmood")]);
        let b = tenant(&[(29000, "Sorders_id_seq"), (29001, "Tmood")]);
        // nextval('orders_id_seq'::regclass): the sequence's oid is in the constant's bytes.
        let tree = |seq: u32, ty: u32, location: u32| {
            let [b0, b1, b2, b3] = seq.to_le_bytes();
            format!(
                "{{FUNCEXPR :funcid 1574 :funcresulttype 20 :args ({{CONST :consttype 2205 :consttypmod -1 :constcollid 0 :constlen 4 :constbyval true :constisnull false :location {location} :constvalue 4 [ {} {} {} {} 0 0 0 0 ]}} {{CONST :consttype {ty} :constvalue <>}}) :location 7}}",
                b0 as i8, b1 as i8, b2 as i8, b3 as i8
            )
        };
        let ra = relative_tree(&tree(17000, 17001, 40), &a);
        let rb = relative_tree(&tree(29000, 29001, 99), &b);
        assert_eq!(ra, rb);
        assert!(
            ra.contains("[@Sorders_id_seq]") && ra.contains(":consttype @Tmood"),
            "{ra}"
        );
        // A built-in's oid, or another schema's, stays a number.
        assert!(ra.contains(":funcid 1574"));
        let other = relative_tree(&tree(17000, 25, 40), &a);
        assert_ne!(ra, other);
    }

    #[test]
    fn a_number_outside_an_oid_field_is_never_replaced() {
        let a = tenant(&[(17000, "Rrorders")]);
        let tree = "{VAR :varno 1 :varattno 17000 :vartype 17000 :vartypmod 17000 :location 3}";
        assert_eq!(
            relative_tree(tree, &a),
            "{VAR :varno 1 :varattno 17000 :vartype @Rrorders :vartypmod 17000 :location _}"
        );
    }

    #[test]
    fn oid_lists_and_row_fields_are_made_relative() {
        let a = tenant(&[(17000, "Tmood"), (17002, "Rrt")]);
        assert_eq!(
            relative_tree("{RTE :coltypes (o 23 17000) :colcollations (o 0 0)}", &a),
            "{RTE :coltypes (o 23 @Tmood) :colcollations (o 0 0)}"
        );
        let row = relative_row(
            r#"{"oid": 1, "tgrelid": 17002, "tgname": "x", "tgattr": "17000"}"#,
            &a,
        );
        assert_eq!(row, r#"{"tgattr":"17000","tgname":"x","tgrelid":"@Rrt"}"#);
    }

    fn row(tag: char, oid: u32, number: i32, text: &str) -> RawRow {
        RawRow {
            namespace: 1,
            tag,
            oid,
            number,
            text: text.to_string(),
        }
    }

    #[test]
    fn tenants_differing_only_in_their_own_oids_share_a_shape_and_a_renamed_column_does_not() {
        let tenant_rows = |ns: u32, base: u32, column: &str| -> Vec<RawRow> {
            let mut rows = vec![
                row('R', base, 0, "rorders"),
                row('A', base, 1, &format!("{column}\t1700 -1 0 false")),
                row('K', base + 1, 0, &format!("{base} 0\tck")),
                row(
                    'c',
                    base + 1,
                    0,
                    &format!("{{VAR :varno 1 :varattno 1 :vartype 1700 :location {base}}}"),
                ),
                row('U', 0, 0, "true"),
            ];
            for r in &mut rows {
                r.namespace = ns;
            }
            rows
        };
        let mut rows = tenant_rows(10, 17000, "amount");
        rows.extend(tenant_rows(11, 18000, "amount"));
        rows.extend(tenant_rows(12, 19000, "total"));
        let shapes = Shapes::group(rows);
        assert_eq!(shapes.distinct(), 2);
        assert!(shapes.deparses_itself(10));
        assert!(!shapes.deparses_itself(11));
        assert!(shapes.deparses_itself(12));

        let mut deparsed: HashMap<u32, Deparsed> = HashMap::new();
        deparsed
            .entry(10)
            .or_default()
            .insert(('c', 17001, 0), "(amount >= (0)::numeric)".to_string());
        shapes.hand_over(&mut deparsed);
        assert_eq!(
            deparsed.get(&11).and_then(|d| d.get(&('c', 18001, 0))),
            Some(&"(amount >= (0)::numeric)".to_string())
        );
        assert!(!deparsed.contains_key(&12));
    }

    #[test]
    fn a_cached_shape_is_handed_over_without_deparsing_and_one_naming_another_schema_is_never_kept()
    {
        let rows = |ns: u32, base: u32, function: u32| -> Vec<RawRow> {
            let mut rows = vec![
                row('R', base, 0, "rorders"),
                row('A', base, 1, "amount\t1700 -1 0 false"),
                row(
                    'd',
                    base,
                    1,
                    &format!("{{FUNCEXPR :funcid {function} :location {base}}}"),
                ),
                row('U', 0, 0, "true"),
            ];
            for r in &mut rows {
                r.namespace = ns;
            }
            rows
        };
        let text = "calc()".to_string();
        for (function, kept) in [(1574, true), (40000, false)] {
            let cache = ShapeCache::default();
            let mut first = Shapes::group(rows(10, 17000, function));
            first.consult(&cache);
            assert!(first.deparses_itself(10));
            let mut deparsed: HashMap<u32, Deparsed> = HashMap::new();
            deparsed
                .entry(10)
                .or_default()
                .insert(('d', 17000, 1), text.clone());
            first.remember(&cache, &deparsed);

            let mut later = Shapes::group(rows(11, 18000, function));
            later.consult(&cache);
            assert_eq!(later.deparses_itself(11), !kept, "function {function}");
            let mut deparsed: HashMap<u32, Deparsed> = HashMap::new();
            later.hand_over(&mut deparsed);
            let handed = deparsed.get(&11).and_then(|d| d.get(&('d', 18000, 1)));
            assert_eq!(handed, kept.then_some(&text), "function {function}");
        }
    }
}
