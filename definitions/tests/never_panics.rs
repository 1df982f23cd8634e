//! Property tests: whatever text the validator is given (arbitrary strings, arbitrary bytes,
//! or a valid workflow with a line deleted, duplicated, swapped, indented differently or with
//! characters inserted), it never panics, answers quickly, and places every diagnostic inside
//! the input.
//!
//! A few hundred cases run by default; set `PROPTEST_CASES` to run more.

use std::time::{Duration, Instant};

use daftar_definitions::{Catalog, Options, load_catalog, validate};
use proptest::prelude::*;
use proptest::sample::Index;

/// A valid workflow that uses most of the language, the seed of the mutations.
const VALID: &str = include_str!("fixtures/mutation-seed.yaml");

const CATALOG: &str = "connectors:
  civil_registry:
    agency: sabt
    kind: inquiry
    operations:
      identity_match:
        input: [national_id, birth_date]
        output: [matched, first_name, last_name]
  judiciary_records:
    agency: judiciary
    kind: inquiry
    operations:
      criminal_record:
        input: [national_id]
        output: [has_record]
";

fn catalog() -> &'static Catalog {
    static CATALOG_VALUE: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG_VALUE.get_or_init(|| load_catalog("connectors.yaml", CATALOG).expect("valid"))
}

/// How long one validation of a small input may take, in a debug build: a guard against hangs
/// and blowups (one takes milliseconds), not a speed test, so it leaves room for a slow, busy
/// CI machine, as tests/hostile.rs does.
const LIMIT: Duration = Duration::from_secs(5);

/// The number of lines of `text` as YAML counts them: `\r\n`, `\n` and `\r` each end one.
fn lines(text: &str) -> usize {
    text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1
}

/// The lines of `text` as YAML counts them.
fn split_lines(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split(['\n', '\r'])
        .map(str::to_owned)
        .collect()
}

/// Validates `text` (with the catalog, and without), and checks the answer is sound.
fn check(text: &str) -> Result<(), TestCaseError> {
    for options in [
        Options::default(),
        Options {
            catalog: Some(catalog()),
            workflows: None,
        },
    ] {
        let started = Instant::now();
        let v = validate("mutant.yaml", text, options);
        let took = started.elapsed();
        prop_assert!(took < LIMIT, "validation took {took:?}");
        let n = lines(text);
        let all = split_lines(text);
        for d in &v.diagnostics {
            prop_assert!(d.location.line >= 1, "{d}");
            prop_assert!(d.location.column >= 1, "{d}");
            prop_assert!(d.location.line <= n + 1, "{d}: the input has {n} lines");
            let width = all
                .get(d.location.line - 1)
                .map_or(0, |l| l.chars().count());
            prop_assert!(
                d.location.column <= width + 1,
                "{d}: line {} has {width} characters",
                d.location.line
            );
            prop_assert!(!d.message.is_empty(), "{d}");
            prop_assert_eq!(d.severity, d.code.severity());
        }
        prop_assert_eq!(v.definition.is_some(), !v.has_errors());
    }
    Ok(())
}

/// One edit of a line-based document.
#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    Insert(Index, String),
    Indent(Index, i8),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (
            any::<Index>(),
            prop_oneof![
                "[-:{}\\[\\],#&*!|>'\"%@` \t\n]{1,4}",
                "[a-z_]{1,8}",
                any::<char>().prop_map(String::from),
                Just("\u{0}".to_owned()),
                Just("\r".to_owned()),
                Just("\u{FEFF}".to_owned()),
                Just("&a ".to_owned()),
                Just("*a".to_owned()),
                Just("{{".to_owned()),
                Just("((".to_owned()),
            ]
        )
            .prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<Index>(), -4i8..=4).prop_map(|(at, by)| Mutation::Indent(at, by)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for m in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match m {
            Mutation::Delete(i) => {
                lines.remove(i.index(n));
            }
            Mutation::Duplicate(i) => {
                let at = i.index(n);
                let line = lines[at].clone();
                lines.insert(at, line);
            }
            Mutation::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
            Mutation::Insert(at, s) => {
                let line = &mut lines[at.index(n)];
                let chars: Vec<char> = line.chars().collect();
                let pos = at.index(chars.len() + 1);
                let mut new: String = chars[..pos].iter().collect();
                new.push_str(s);
                new.extend(&chars[pos..]);
                *line = new;
            }
            Mutation::Indent(at, by) => {
                let line = &mut lines[at.index(n)];
                if *by >= 0 {
                    *line = format!("{}{line}", " ".repeat(*by as usize));
                } else {
                    let strip = line
                        .chars()
                        .take(by.unsigned_abs() as usize)
                        .take_while(|c| *c == ' ')
                        .count();
                    *line = line[strip..].to_owned();
                }
            }
            Mutation::Truncate(at) => {
                let line = &mut lines[at.index(n)];
                let chars: Vec<char> = line.chars().collect();
                *line = chars[..at.index(chars.len() + 1)].iter().collect();
            }
        }
    }
    lines.join("\n") + "\n"
}

fn config() -> ProptestConfig {
    // `ProptestConfig::default()` reads PROPTEST_CASES; without it, a few hundred cases.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(300);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn the_seed_is_valid() {
    let v = validate(
        "seed.yaml",
        VALID,
        Options {
            catalog: Some(catalog()),
            workflows: None,
        },
    );
    assert!(v.diagnostics.is_empty(), "{:#?}", v.diagnostics);
    check(VALID).unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn yaml_like_strings_never_panic(
        text in "([a-z_]{1,6}|[-:{}\\[\\],#&*!|>'\"%@ \t]|\n {0,6}|\\{\\{|\\}\\}|daftar|steps|id|next|[0-9]{1,3}){0,80}"
    ) {
        check(&text)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn mutations_of_a_valid_workflow_never_panic(
        mutations in proptest::collection::vec(mutation(), 1..6)
    ) {
        check(&apply(VALID, &mutations))?;
    }

    #[test]
    fn a_valid_workflow_cut_anywhere_never_panics(at in any::<Index>()) {
        let chars: Vec<char> = VALID.chars().collect();
        let cut: String = chars[..at.index(chars.len() + 1)].iter().collect();
        check(&cut)?;
    }

    #[test]
    fn mutated_catalogs_never_panic(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let text = apply(CATALOG, &mutations);
        let started = Instant::now();
        let result = load_catalog("connectors.yaml", &text);
        prop_assert!(started.elapsed() < LIMIT);
        if let Err(diagnostics) = result {
            prop_assert!(!diagnostics.is_empty());
            for d in &diagnostics {
                prop_assert!(d.location.line >= 1 && d.location.column >= 1, "{d}");
                prop_assert!(d.location.line <= lines(&text) + 1, "{d}");
            }
        }
    }
}
