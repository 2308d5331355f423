//! Every crate builds its integration tests as one binary (`autotests = false`, `[[test]]
//! it`), so a test file put straight into `tests/` or left out of `tests/it/main.rs` would
//! compile nowhere and pass by never running. This finds both, in every workspace crate.

use std::fs;
use std::path::Path;

/// Each crate's directory with a trailing `/` (empty for the root crate).
const CRATES: &[&str] = &[
    "",
    "pos-client/",
    "hardware-sim/",
    "drivers/zvt/",
    "drivers/cardreader/",
];

/// The `.rs` files directly in `dir`, by stem.
fn rust_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_test_file_is_a_module_of_its_crates_one_test_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for krate in CRATES {
        let tests = root.join(format!("{krate}tests"));
        for stray in rust_files(&tests) {
            problems.push(format!(
                "{krate}tests/{stray}.rs is built by nothing: move it to {krate}tests/it/ and add `mod {stray};` to its main.rs"
            ));
        }
        let main = fs::read_to_string(tests.join("it/main.rs"))
            .unwrap_or_else(|e| panic!("{krate}tests/it/main.rs: {e}"));
        for module in rust_files(&tests.join("it")) {
            if module != "main" && !main.lines().any(|l| l.trim() == format!("mod {module};")) {
                problems.push(format!(
                    "{krate}tests/it/{module}.rs is not in its main.rs: add `mod {module};`"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
