//! Rendering results: readable text for people, one stable JSON document for machines.

pub mod json;
pub mod style;
pub mod text;
