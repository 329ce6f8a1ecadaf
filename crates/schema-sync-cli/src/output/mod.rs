//! Rendering results: readable text for people, one stable JSON document (or one JSON
//! line per tenant) for machines.

pub mod hazards;
pub mod json;
pub mod message;
pub mod servers;
pub mod shapes;
pub mod style;
pub mod text;
