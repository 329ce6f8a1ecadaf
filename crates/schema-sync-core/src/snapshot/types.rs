//! Column data types in normalised form.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A column's data type, normalised by the adapter that inspected it.
///
/// `name` is the canonical lowercase base name of the dialect (`integer`, `bigint`,
/// `varchar`, `numeric`, `timestamptz`, or a user type such as an enum); the parameters are
/// kept in typed fields so that comparison and rendering never re-parse a string.
/// Synonyms (`int4`, `int`, `integer`) are folded by the adapter's type normaliser, so two
/// equal types always compare equal here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DataType {
    /// Canonical base name.
    pub name: String,
    /// Character or binary length (`varchar(255)`), when the type has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Numeric precision or fractional-seconds precision, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Numeric scale, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// MySQL `UNSIGNED`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unsigned: bool,
    /// MySQL `ZEROFILL` (implies `UNSIGNED`); an integer's display width is then kept in
    /// `length`, as it sets how many digits are shown.
    #[serde(default, skip_serializing_if = "is_false")]
    pub zerofill: bool,
    /// Array dimensions (PostgreSQL `text[]` has 1).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub array_dimensions: u8,
    /// Inline value lists of MySQL `ENUM(...)` and `SET(...)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// The schema of a user-defined type that lives outside the tenant (`public.citext`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u8) -> bool {
    *value == 0
}

/// How a type change affects the data already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeChange {
    /// Same type.
    None,
    /// Every old value fits the new type unchanged.
    Widening,
    /// Some old values may not fit, or may change: data can be lost.
    Narrowing,
}

/// Integer families ordered from narrowest to widest.
const INTEGER_WIDTHS: &[&str] = &["tinyint", "smallint", "mediumint", "integer", "bigint"];
/// Floating-point types ordered from narrowest to widest.
const FLOAT_WIDTHS: &[&str] = &["real", "double precision"];
/// Unbounded text types that any bounded character type widens into.
const UNBOUNDED_TEXT: &[&str] = &["text", "mediumtext", "longtext"];
/// Bounded character types.
const BOUNDED_TEXT: &[&str] = &["varchar", "char", "character varying", "character"];

impl DataType {
    /// A type with just a base name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            length: None,
            precision: None,
            scale: None,
            unsigned: false,
            zerofill: false,
            array_dimensions: 0,
            values: Vec::new(),
            schema: None,
        }
    }

    /// Sets the length.
    pub fn with_length(mut self, length: u32) -> Self {
        self.length = Some(length);
        self
    }

    /// Sets precision and scale.
    pub fn with_precision(mut self, precision: u32, scale: Option<u32>) -> Self {
        self.precision = Some(precision);
        self.scale = scale;
        self
    }

    /// Classifies the change from `self` to `to`: whether stored values survive it.
    ///
    /// Anything not known to be a widening is a narrowing, so unknown conversions are
    /// treated as destructive and refused unless allowed.
    pub fn change_to(&self, to: &DataType) -> TypeChange {
        if self == to {
            return TypeChange::None;
        }
        let same_shape = self.array_dimensions == to.array_dimensions && self.schema == to.schema;
        if !same_shape {
            return TypeChange::Narrowing;
        }
        let rank = |list: &[&str], name: &str| list.iter().position(|n| *n == name);
        if let (Some(from), Some(into)) = (
            rank(INTEGER_WIDTHS, &self.name),
            rank(INTEGER_WIDTHS, &to.name),
        ) {
            // Signed to unsigned loses negatives; unsigned to signed needs a strictly wider type.
            let widens = match (self.unsigned, to.unsigned) {
                (false, true) => false,
                (true, false) => into > from,
                _ => into >= from,
            };
            return if widens {
                TypeChange::Widening
            } else {
                TypeChange::Narrowing
            };
        }
        if let (Some(from), Some(into)) =
            (rank(FLOAT_WIDTHS, &self.name), rank(FLOAT_WIDTHS, &to.name))
        {
            return if into >= from {
                TypeChange::Widening
            } else {
                TypeChange::Narrowing
            };
        }
        if BOUNDED_TEXT.contains(&self.name.as_str()) && UNBOUNDED_TEXT.contains(&to.name.as_str())
        {
            return TypeChange::Widening;
        }
        if self.name == to.name && self.unsigned == to.unsigned {
            let wider_or_equal = |from: Option<u32>, into: Option<u32>| match (from, into) {
                (_, None) => true,
                (Some(f), Some(i)) => i >= f,
                (None, Some(_)) => false,
            };
            let integer_digits =
                |t: &DataType| t.precision.map(|p| p.saturating_sub(t.scale.unwrap_or(0)));
            let unbounded_numeric = to.precision.is_none() && to.scale.is_none();
            let numeric_ok = unbounded_numeric
                || wider_or_equal(self.precision, to.precision)
                    && wider_or_equal(self.scale.or(Some(0)), to.scale.or(Some(0)))
                    && wider_or_equal(integer_digits(self), integer_digits(to));
            let values_ok = to.values.starts_with(&self.values)
                || self.values.iter().all(|v| to.values.contains(v));
            if wider_or_equal(self.length, to.length) && numeric_ok && values_ok {
                return TypeChange::Widening;
            }
        }
        TypeChange::Narrowing
    }
}

impl fmt::Display for DataType {
    /// A readable, dialect-neutral rendering such as `varchar(255)` or `numeric(10,2)[]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}.")?;
        }
        f.write_str(&self.name)?;
        if !self.values.is_empty() {
            let quoted: Vec<String> = self
                .values
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect();
            write!(f, "({})", quoted.join(","))?;
        } else if let Some(length) = self.length {
            write!(f, "({length})")?;
        } else if let Some(precision) = self.precision {
            match self.scale {
                Some(scale) => write!(f, "({precision},{scale})")?,
                None => write!(f, "({precision})")?,
            }
        }
        if self.unsigned {
            f.write_str(" unsigned")?;
        }
        if self.zerofill {
            f.write_str(" zerofill")?;
        }
        for _ in 0..self.array_dimensions {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_common_changes() {
        let int = DataType::named("integer");
        let big = DataType::named("bigint");
        let small = DataType::named("smallint");
        assert_eq!(int.change_to(&big), TypeChange::Widening);
        assert_eq!(int.change_to(&small), TypeChange::Narrowing);
        let v10 = DataType::named("varchar").with_length(10);
        let v20 = DataType::named("varchar").with_length(20);
        assert_eq!(v10.change_to(&v20), TypeChange::Widening);
        assert_eq!(v20.change_to(&v10), TypeChange::Narrowing);
        assert_eq!(
            v20.change_to(&DataType::named("text")),
            TypeChange::Widening
        );
        assert_eq!(
            DataType::named("text").change_to(&v20),
            TypeChange::Narrowing
        );
        let n10 = DataType::named("numeric").with_precision(10, Some(2));
        let n12 = DataType::named("numeric").with_precision(12, Some(2));
        let n12_4 = DataType::named("numeric").with_precision(12, Some(4));
        assert_eq!(n10.change_to(&n12), TypeChange::Widening);
        assert_eq!(n12.change_to(&n10), TypeChange::Narrowing);
        assert_eq!(n10.change_to(&n12_4), TypeChange::Widening);
        assert_eq!(
            DataType::named("text").change_to(&DataType::named("integer")),
            TypeChange::Narrowing
        );
        assert_eq!(
            DataType::named("numeric")
                .with_precision(10, Some(2))
                .change_to(&DataType::named("numeric")),
            TypeChange::Widening
        );
    }

    #[test]
    fn displays_parameters() {
        assert_eq!(
            DataType::named("numeric")
                .with_precision(10, Some(2))
                .to_string(),
            "numeric(10,2)"
        );
        let mut arr = DataType::named("text");
        arr.array_dimensions = 1;
        assert_eq!(arr.to_string(), "text[]");
    }
}
