//! The command-line reference, generated from the clap [`crate::command`] so that the
//! docs cannot drift from the binary.
//!
//! `docs/src/commands.md` holds one flag table per command, grouped under the same
//! headings as `--help`, and the exit-code table; `README.md` holds the exit-code table
//! too. Each generated part sits between a pair of marker comments. `cargo xtask docs`
//! rewrites those parts; the CLI's `tests/docs.rs` regenerates them and fails when a file
//! differs.

use std::fmt::Write as _;

use crate::cli::EXIT_CODES;

/// The name of a generated part: its markers are `<!-- BEGIN GENERATED name -->` and
/// `<!-- END GENERATED name -->`.
pub const FLAGS: &str = "flags";
/// The exit-code table's part.
pub const EXIT_CODES_PART: &str = "exit-codes";

/// The heading of flags without one.
const DEFAULT_HEADING: &str = "Options";

/// The exit codes as a Markdown table.
pub fn exit_code_table() -> String {
    let mut table = String::from("| code | meaning |\n|---|---|\n");
    for (code, meaning) in EXIT_CODES {
        let _ = writeln!(table, "| {code} | {} |", cell(meaning));
    }
    table
}

/// One section per command (subcommands included), each with a table per help heading,
/// in the order `--help` shows them.
pub fn flag_tables(root: &clap::Command) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Global options\n");
    let _ = writeln!(
        out,
        "Every command takes these; they may come before or after the command name.\n"
    );
    let globals: Vec<&clap::Arg> = root.get_arguments().filter(|a| a.is_global_set()).collect();
    table(&mut out, &globals);
    for command in root.get_subcommands() {
        section(&mut out, root.get_name(), command);
    }
    out
}

fn section(out: &mut String, parent: &str, command: &clap::Command) {
    let name = format!("{parent} {}", command.get_name());
    if command.has_subcommands() {
        // A command that also runs without a subcommand (`migrate`) has flags of its own.
        if command.get_arguments().next().is_some() {
            command_table(out, &name, command);
        }
        for sub in command.get_subcommands() {
            section(out, &name, sub);
        }
        return;
    }
    command_table(out, &name, command);
}

/// The heading, description and flag tables of one command.
fn command_table(out: &mut String, name: &str, command: &clap::Command) {
    let _ = writeln!(out, "### `{name}`\n");
    if let Some(about) = command.get_about() {
        let _ = writeln!(out, "{}\n", about.to_string().trim());
    }
    let arguments: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.is_positional())
        .collect();
    if !arguments.is_empty() {
        let _ = writeln!(out, "Arguments:\n");
        table(out, &arguments);
    }
    let mut headings: Vec<&str> = Vec::new();
    for arg in command.get_arguments().filter(|a| !a.is_positional()) {
        let heading = arg.get_help_heading().unwrap_or(DEFAULT_HEADING);
        if !headings.contains(&heading) {
            headings.push(heading);
        }
    }
    // `--help` prints flags without a heading first.
    headings.sort_by_key(|h| *h != DEFAULT_HEADING);
    if headings.is_empty() {
        let _ = writeln!(out, "No flags besides the global options.\n");
    }
    for heading in headings {
        let args: Vec<&clap::Arg> = command
            .get_arguments()
            .filter(|a| {
                !a.is_positional() && a.get_help_heading().unwrap_or(DEFAULT_HEADING) == heading
            })
            .collect();
        let _ = writeln!(out, "{heading}:\n");
        table(out, &args);
    }
}

fn table(out: &mut String, args: &[&clap::Arg]) {
    let kind = if args.iter().all(|a| a.is_positional()) {
        "argument"
    } else {
        "flag"
    };
    let _ = writeln!(out, "| {kind} | description |\n|---|---|");
    for arg in args {
        let _ = writeln!(out, "| `{}` | {} |", usage(arg), cell(&description(arg)));
    }
    out.push('\n');
}

/// `-q, --quiet`, `--lock-timeout <DURATION>`, `<TENANT>`.
fn usage(arg: &clap::Arg) -> String {
    let values: Vec<String> = arg
        .get_value_names()
        .map(|names| names.iter().map(|n| format!("<{n}>")).collect())
        .unwrap_or_else(|| vec![format!("<{}>", arg.get_id().as_str().to_uppercase())]);
    if arg.is_positional() {
        return values.join(" ");
    }
    let mut usage = String::new();
    if let Some(short) = arg.get_short() {
        let _ = write!(usage, "-{short}, ");
    }
    if let Some(long) = arg.get_long() {
        let _ = write!(usage, "--{long}");
    }
    if arg.get_action().takes_values() {
        let _ = write!(usage, " {}", values.join(" "));
    }
    usage
}

fn description(arg: &clap::Arg) -> String {
    let mut text = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !text.is_empty() && !text.ends_with(['.', ')']) {
        text.push('.');
    }
    if !possible.is_empty() && arg.get_action().takes_values() {
        let _ = write!(text, " One of {}.", possible.join(", "));
    }
    if let Some(env) = arg.get_env() {
        let _ = write!(text, " Environment: `{}`.", env.to_string_lossy());
    }
    text
}

/// Text fit for one Markdown table cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// Replaces the generated part `name` of `document` with `content`.
///
/// # Errors
/// When the document lacks either marker, naming the missing one.
pub fn replace_part(document: &str, name: &str, content: &str) -> Result<String, String> {
    let begin = format!("<!-- BEGIN GENERATED {name}: run `cargo xtask docs` to update -->");
    let end = format!("<!-- END GENERATED {name} -->");
    let start = document
        .find(&begin)
        .ok_or_else(|| format!("missing marker line {begin}"))?;
    let stop = document[start..]
        .find(&end)
        .map(|i| start + i)
        .ok_or_else(|| format!("missing marker line {end}"))?;
    Ok(format!(
        "{}{begin}\n\n{}\n\n{end}{}",
        &document[..start],
        content.trim_end(),
        &document[stop + end.len()..]
    ))
}

/// `docs/src/commands.md` with its flag tables and exit-code table regenerated.
///
/// # Errors
/// When a marker is missing.
pub fn update_commands_doc(document: &str) -> Result<String, String> {
    let document = replace_part(document, FLAGS, &flag_tables(&crate::command()))?;
    replace_part(&document, EXIT_CODES_PART, &exit_code_table())
}

/// `README.md` with its exit-code table regenerated.
///
/// # Errors
/// When a marker is missing.
pub fn update_readme(document: &str) -> Result<String, String> {
    replace_part(document, EXIT_CODES_PART, &exit_code_table())
}
