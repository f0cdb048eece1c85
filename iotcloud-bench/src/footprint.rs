//! Row 5: code and RAM footprint on the EC618 target, when its report has been produced.

use std::path::PathBuf;

/// Where the EC618 footprint report is written: `target/footprint.txt` at the workspace
/// root (or under the current directory, when run from elsewhere).
fn footprint_report_paths() -> [PathBuf; 2] {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        workspace.join("target/footprint.txt"),
        PathBuf::from("target/footprint.txt"),
    ]
}

/// Prints the footprint report after the table if it exists, or says that it was not run.
pub fn print_footprint_report() {
    println!();
    println!("### Footprint (row 5)");
    println!();
    for path in footprint_report_paths() {
        if let Ok(text) = std::fs::read_to_string(&path) {
            println!("From `target/footprint.txt`:");
            println!();
            println!("```text");
            println!("{}", text.trim_end());
            println!("```");
            return;
        }
    }
    println!("The footprint report was not run (no `target/footprint.txt`).");
}
