//! Hostile input: huge, deep, self-multiplying, binary or malformed definitions are refused
//! quickly, with a diagnostic, and never crash or hang the validator or the CLI.
//!
//! Each input is generated here. Library calls are timed after a warm-up (the language schema
//! is compiled once per process); CLI runs are timed from spawn to exit, and a child that runs
//! too long is killed. Timed sections run one at a time, so that tests running in parallel do
//! not slow each other down past the limit.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use daftar_definitions::{Code, Diagnostic, Options, Validation, validate};

/// How long any one hostile input may take, in a debug build: a guard against a hang or a
/// blowup (an alias bomb, a search that multiplies), far above what each input takes (tens to
/// hundreds of milliseconds), so that a slow or busy machine does not fail it. How fast the
/// validator is belongs to benchmarks, not to this limit.
const LIMIT: Duration = Duration::from_secs(5);

/// The start of a valid definition; `steps:` follows.
const HEAD: &str = include_str!("fixtures/hostile-head.yaml");

/// [`HEAD`] with a description nested a thousand levels deep, each level's line `item(depth)`
/// indented by two spaces a level.
fn nested(item: impl Fn(usize) -> String) -> String {
    let mut text = String::from(HEAD);
    text.push_str("description:\n");
    for depth in 1..=1000 {
        text.push_str(&"  ".repeat(depth));
        text.push_str(&item(depth));
        text.push('\n');
    }
    text
}

/// Held while anything is timed.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn warm_up() {
    let text = format!("{HEAD}steps:\n  - id: done\n    end: {{ outcome: completed }}\n");
    let v = validate("warm.yaml", &text, Options::default());
    assert!(!v.has_errors(), "{:#?}", v.diagnostics);
}

/// Validates `text`, checks it took less than [`LIMIT`] and that every diagnostic is well
/// placed, and returns the result.
fn timed(what: &str, text: &str) -> Validation {
    warm_up();
    let guard = serial();
    let started = Instant::now();
    let v = validate("hostile.yaml", text, Options::default());
    let took = started.elapsed().saturating_sub(startup());
    drop(guard);
    assert!(took < LIMIT, "{what}: validation took {took:?}");
    let lines = text.split('\n').count();
    for d in &v.diagnostics {
        assert!(
            d.location.line >= 1 && d.location.column >= 1,
            "{what}: {d}"
        );
        assert!(d.location.line <= lines + 1, "{what}: {d} is past the end");
    }
    v
}

fn codes(v: &Validation) -> Vec<Code> {
    v.diagnostics.iter().map(|d| d.code).collect()
}

fn first(v: &Validation) -> &Diagnostic {
    v.diagnostics.first().expect("a diagnostic")
}

/// How long the CLI takes to start and stop doing nothing (`daftar --version`, the fastest of
/// three): loading a debug binary of some hundred megabytes is not the validation the limits
/// are about, and on a busy machine it alone can pass them.
fn startup() -> Duration {
    static STARTUP: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *STARTUP.get_or_init(|| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                let out = Command::new(env!("CARGO_BIN_EXE_daftar"))
                    .arg("--version")
                    .output()
                    .unwrap();
                assert!(out.status.success());
                started.elapsed()
            })
            .min()
            .unwrap()
    })
}

/// Runs the CLI on `bytes` written to a file, kills it after a generous deadline, and returns
/// its exit code, stdout and how long it took beyond starting up ([`startup`]).
fn cli(name: &str, bytes: &[u8], extra: &[&str]) -> (i32, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let guard = serial();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_daftar"))
        .arg("validate")
        .arg(&path)
        .args(extra)
        .env_remove("DAFTAR_CONNECTORS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the pipes on their own threads so that a large output cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let deadline = Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{name}: the CLI was still running after {deadline:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed().saturating_sub(startup());
    drop(guard);
    let stdout = out.join().unwrap().expect("stdout is UTF-8");
    let stderr = err.join().unwrap().expect("stderr is UTF-8");
    let code = status.code().unwrap_or_else(|| {
        panic!("{name}: the CLI was killed by a signal ({status}); stderr:\n{stderr}")
    });
    assert_ne!(code, 101, "{name}: the CLI panicked:\n{stderr}");
    (code, stdout, took)
}

/// The CLI refuses the file with exit code 1, quickly, and reports `code` for it.
fn cli_refuses(name: &str, bytes: &[u8], code: Code) -> String {
    let (status, stdout, took) = cli(name, bytes, &[]);
    assert_eq!(status, 1, "{name}: exit code; stdout:\n{stdout}");
    assert!(took < LIMIT, "{name}: the CLI took {took:?}");
    assert!(
        stdout.contains(&format!(": {code} ")),
        "{name}: no {code} in\n{stdout}"
    );
    stdout
}

#[test]
fn a_two_mebibyte_file_is_refused_by_its_size() {
    let mut text = String::from(HEAD);
    text.push_str("description: |\n");
    while text.len() < 2 * 1024 * 1024 {
        text.push_str("  The quick brown fox jumps over the lazy dog, again and again.\n");
    }
    text.push_str("steps:\n  - id: done\n    end: { outcome: completed }\n");
    let v = timed("2 MiB", &text);
    assert_eq!(codes(&v), [Code::TooLarge]);
    assert!(first(&v).message.contains("bytes"), "{}", first(&v));
    cli_refuses("big.yaml", text.as_bytes(), Code::TooLarge);
}

#[test]
fn flow_nesting_one_hundred_thousand_deep_is_refused() {
    let text = "[".repeat(100_000) + &"]".repeat(100_000);
    let v = timed("100k [", &text);
    assert!(v.has_errors());
    assert!(
        matches!(first(&v).code, Code::TooLarge | Code::YamlSyntax),
        "{}",
        first(&v)
    );
    // Unclosed, and as the value of a field.
    let text = format!("{HEAD}steps: {}", "[{a: ".repeat(50_000));
    let v = timed("50k [{a:", &text);
    assert!(v.has_errors());
    cli_refuses("flow.yaml", text.as_bytes(), first(&v).code);
}

#[test]
fn block_nesting_a_thousand_deep_is_refused_by_its_depth() {
    let mut text = nested(|depth| format!("k{depth}:"));
    text.push_str(&"  ".repeat(1001));
    text.push_str("leaf\n");
    let v = timed("1000 deep", &text);
    assert_eq!(codes(&v), [Code::TooLarge]);
    assert!(first(&v).message.contains("64 levels"), "{}", first(&v));
    // The 65th level opens with `k63`'s value, on the line of `k64`.
    let line = text.lines().position(|l| l.trim() == "k64:").expect("k64") + 1;
    assert_eq!(first(&v).location.line, line, "{}", first(&v));
    assert_eq!(first(&v).location.column, 2 * 64 + 1, "{}", first(&v));

    // Block sequences nest too.
    let text = nested(|_| "-".to_owned());
    let v = timed("1000 deep sequences", &text);
    assert!(v.has_errors());
    cli_refuses("deep.yaml", text.as_bytes(), first(&v).code);
}

#[test]
fn a_billion_laughs_is_refused_without_expanding_it() {
    let mut text = String::from(HEAD);
    text.push_str("l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..=9 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        text.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    text.push_str("steps:\n  - id: done\n    end: { outcome: completed }\n    title: *l9\n");
    assert!(text.len() < 2000, "the bomb is small");
    let v = timed("billion laughs", &text);
    assert_eq!(codes(&v), [Code::TooLarge]);
    assert!(first(&v).message.contains("aliases"), "{}", first(&v));
    cli_refuses("laughs.yaml", text.as_bytes(), Code::TooLarge);

    // Many aliases of one large mapping, each under the limit on its own.
    let mut text = String::from(HEAD);
    text.push_str("x: &big {");
    text.push_str(
        &(0..2000)
            .map(|i| format!("k{i}: v"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    text.push_str("}\ny: [");
    text.push_str(&vec!["*big"; 200].join(", "));
    text.push_str("]\nsteps: []\n");
    let v = timed("wide aliases", &text);
    assert_eq!(codes(&v), [Code::TooLarge]);
}

/// A small deterministic generator, so that "random" bytes are the same on every run.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn binary_bytes_and_nul_are_refused() {
    for seed in 1..=20u64 {
        let raw = bytes(seed, 4096);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let v = timed("random bytes", &text);
        assert!(v.has_errors(), "seed {seed}: {:#?}", v.diagnostics);
    }
    // A NUL in otherwise valid text.
    let text = format!("{HEAD}steps:\n  - id: done\n    end: {{ outcome: completed }}\0\n");
    let v = timed("NUL", &text);
    assert_eq!(codes(&v), [Code::YamlSyntax]);
    assert!(first(&v).message.contains("NUL"), "{}", first(&v));
    assert_eq!(first(&v).location.line, text.lines().count());

    // Binary through the CLI: invalid UTF-8 and NUL bytes.
    let raw = bytes(7, 4096);
    cli_refuses("binary.bin", &raw, Code::YamlSyntax);
    cli_refuses("nul.yaml", text.as_bytes(), Code::YamlSyntax);
}

#[test]
fn invalid_utf8_is_refused_by_the_cli_with_its_place() {
    let mut raw = HEAD.as_bytes().to_vec();
    raw.extend_from_slice(b"description: caf\xe9 au lait\n");
    raw.extend_from_slice(b"steps:\n  - id: done\n    end: { outcome: completed }\n");
    let stdout = cli_refuses("latin1.yaml", &raw, Code::YamlSyntax);
    let line = HEAD.lines().count() + 1;
    assert!(
        stdout.contains(&format!("latin1.yaml:{line}:17: DEF001 ")),
        "the bad byte is on line {line}, column 17:\n{stdout}"
    );
    // A lone continuation byte and a truncated sequence at the very end.
    cli_refuses("cont.yaml", b"daftar: 1\n\x80\n", Code::YamlSyntax);
    cli_refuses("trunc.yaml", b"daftar: 1\nid: \xe2\x82", Code::YamlSyntax);
    // UTF-16 with a byte order mark.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("daftar: 1\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    cli_refuses("utf16.yaml", &utf16, Code::YamlSyntax);
}

/// Columns count characters (see `Location`); the CLI's own check for UTF-8 counts bytes, so
/// an invalid byte after Persian text is placed too far to the right.
#[test]
fn invalid_utf8_after_wide_characters_is_placed_by_characters() {
    let mut raw = b"daftar: 1\ndescription: ".to_vec();
    raw.extend_from_slice("کافه ".as_bytes());
    raw.push(0xe9);
    raw.push(b'\n');
    let stdout = cli_refuses("wide-latin1.yaml", &raw, Code::YamlSyntax);
    // `description: ` is 13 characters and `کافه ` five more: the bad byte is in column 19.
    assert!(
        stdout.contains("wide-latin1.yaml:2:19: DEF001 "),
        "the bad byte is on line 2, column 19:\n{stdout}"
    );
}

/// A NUL byte is placed on its line, but always in column 1.
#[test]
fn a_nul_byte_is_placed_at_its_column() {
    let text = "daftar: 1\nid: a\0b\n";
    let v = timed("NUL in a value", text);
    assert_eq!(codes(&v), [Code::YamlSyntax]);
    assert_eq!(
        (first(&v).location.line, first(&v).location.column),
        (2, 6),
        "{}",
        first(&v)
    );
}

#[test]
fn a_very_long_line_is_read_quickly() {
    // Under the size limit: one long description on one line; the definition is valid.
    let text = format!(
        "{HEAD}description: \"{}\"\nsteps:\n  - id: done\n    end: {{ outcome: completed }}\n",
        "ab ".repeat(300_000)
    );
    let v = timed("900 KB line", &text);
    assert!(!v.has_errors(), "{:#?}", v.diagnostics);

    // A long line that is not YAML.
    let text = format!("{HEAD}steps: [{}", "x: ]".repeat(200_000));
    let v = timed("800 KB of nonsense", &text);
    assert!(v.has_errors());

    // A long line with an error at its far end: the column counts characters, not bytes.
    let pad = "اب".repeat(100_000);
    let before = format!("title: {{ fa: \"{pad}\", en: ");
    let text = format!(
        "daftar: 1\n{before}5 }}\nid: wide\nversion: 1\nagency: test\nin_force_from: 2026-03-21\nsla: 1d\ninput: {{ schema: {{ type: object }} }}\nsteps:\n  - id: done\n    end: {{ outcome: completed }}\n"
    );
    let v = timed("wide characters", &text);
    assert_eq!(codes(&v), [Code::WrongType], "{:#?}", v.diagnostics);
    assert_eq!(first(&v).location.line, 2);
    assert_eq!(first(&v).location.column, before.chars().count() + 1);

    let line = "x".repeat(1_500_000);
    cli_refuses("line.yaml", line.as_bytes(), Code::TooLarge);
}

fn with_expression(expr: &str) -> String {
    format!(
        "{HEAD}steps:\n  - id: compute\n    set:\n      value: '{expr}'\n  - id: done\n    end: {{ outcome: completed }}\n"
    )
}

/// Checks that the library refuses `expr` alone, as an expression error whose message says
/// `says`, and that the CLI refuses it too (in a file named `file`).
fn expression_refused(what: &str, expr: &str, says: &str, file: &str) {
    let v = timed(what, &with_expression(expr));
    assert_eq!(codes(&v), [Code::ExpressionSyntax]);
    assert!(first(&v).message.contains(says), "{}", first(&v));
    cli_refuses(
        file,
        with_expression(expr).as_bytes(),
        Code::ExpressionSyntax,
    );
}

#[test]
fn a_ten_thousand_character_expression_is_refused() {
    let expr = vec!["1"; 5000].join("+");
    assert!(expr.len() > 9_000);
    expression_refused("10k expression", &expr, "the limit is", "long-expr.yaml");
}

#[test]
fn an_expression_nested_ten_thousand_parentheses_deep_is_refused() {
    let expr = "(".repeat(10_000) + "1" + &")".repeat(10_000);
    let v = timed("10k parentheses", &with_expression(&expr));
    assert_eq!(codes(&v), [Code::ExpressionSyntax]);
    // Depth is checked before length is worth mentioning: either limit refuses it.
    let m = &first(&v).message;
    assert!(m.contains("limit") || m.contains("nests"), "{m}");

    // Short, and nested just over the depth limit.
    let expr = "[".repeat(49) + &"]".repeat(49);
    expression_refused("49 brackets", &expr, "nests", "deep-expr.yaml");
}

/// Runs `validate` on a thread with a 2 MiB stack: the default for spawned threads, and for
/// tokio's workers, where a server would validate definitions.
fn on_small_stack(text: String) -> Validation {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || validate("small-stack.yaml", &text, Options::default()))
        .unwrap()
        .join()
        .unwrap()
}

/// Expressions the length and depth limits accept must not exhaust the stack: a stack
/// overflow is not a panic, it aborts the whole process (a server, or this test binary).
#[test]
fn expressions_within_the_limits_do_not_overflow_a_small_stack() {
    let accepted = [
        "(".repeat(12) + "1" + &")".repeat(12),
        "[".repeat(15) + &"]".repeat(15),
        "(".repeat(48) + "1" + &")".repeat(48),
        "[".repeat(48) + &"]".repeat(48),
        vec!["1"; 2000].join("+"),
        vec!["2"; 2000].join("*"),
        "x".to_owned() + &".y".repeat(2000),
    ];
    for expr in accepted {
        assert!(expr.len() <= 4096);
        let v = on_small_stack(with_expression(&expr));
        for d in &v.diagnostics {
            assert!(
                matches!(d.code, Code::ExpressionSyntax | Code::UnsetData),
                "{d}"
            );
        }
    }
}

/// The CLI's main thread has 8 MiB of stack, and still a list nested 48 deep, which the depth
/// limit accepts, overflows it in a debug build: the process aborts (exit 134) instead of
/// answering.
#[test]
fn the_cli_answers_for_an_expression_at_the_depth_limit() {
    for expr in [
        "[".repeat(48) + &"]".repeat(48),
        "(".repeat(48) + "1" + &")".repeat(48),
    ] {
        let (status, stdout, took) = cli("limit.yaml", with_expression(&expr).as_bytes(), &[]);
        assert_eq!(status, 0, "{stdout}");
        assert!(took < LIMIT, "the CLI took {took:?}");
    }
}

#[test]
fn a_template_with_deeply_nested_blocks_is_refused_or_read_quickly() {
    for depth in [100, 1_000, 10_000] {
        let body = "{% if tracking_code %}".repeat(depth) + "x" + &"{% endif %}".repeat(depth);
        let text = format!(
            "{HEAD}templates:\n  t:\n    fa: \"{body}\"\n    en: \"{body}\"\nsteps:\n  - id: tell\n    notify: {{ template: t }}\n  - id: done\n    end: {{ outcome: completed }}\n"
        );
        let v = timed("nested template blocks", &text);
        for d in &v.diagnostics {
            assert_eq!(d.code, Code::TemplateSyntax, "depth {depth}: {d}");
        }
        // Unclosed blocks, nested as deeply.
        let body = "{% for x in input %}".repeat(depth);
        let text = format!(
            "{HEAD}templates:\n  t:\n    fa: \"{body}\"\n    en: ok\nsteps:\n  - id: tell\n    notify: {{ template: t }}\n  - id: done\n    end: {{ outcome: completed }}\n"
        );
        let v = timed("unclosed template blocks", &text);
        assert_eq!(codes(&v), [Code::TemplateSyntax], "depth {depth}");
        // Deeply nested expressions inside one block.
        let body = format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth));
        let text = format!(
            "{HEAD}templates:\n  t:\n    fa: \"{body}\"\n    en: ok\nsteps:\n  - id: tell\n    notify: {{ template: t }}\n  - id: done\n    end: {{ outcome: completed }}\n"
        );
        let v = timed("nested template expression", &text);
        for d in &v.diagnostics {
            assert_eq!(d.code, Code::TemplateSyntax, "depth {depth}: {d}");
        }
    }
}

fn chain(n: usize) -> String {
    let mut text = String::from(HEAD);
    text.push_str("steps:\n");
    for i in 0..n {
        text.push_str(&format!("  - id: s{i}\n    set: {{ v{i}: {i} }}\n"));
    }
    text.push_str("  - id: done\n    end: { outcome: completed }\n");
    text
}

#[test]
fn thousands_of_steps_in_a_chain_validate_quickly() {
    let n = 2_000;
    let v = timed("2000 steps", &chain(n));
    assert!(v.diagnostics.is_empty(), "{:#?}", &v.diagnostics[..3]);
    assert!(v.definition.is_some());

    // The same chain written backwards with explicit `next`, every step reading the one
    // before it, and a loop through a wait at the end.
    let mut text = String::from(HEAD);
    text.push_str("start: s0\nsteps:\n");
    text.push_str("  - id: done\n    end: { outcome: completed }\n");
    text.push_str(&format!(
        "  - id: again\n    decision:\n      cases:\n        - {{ when: 'v{} < 0', next: pause }}\n      default: done\n",
        n - 1
    ));
    text.push_str("  - id: pause\n    wait: { duration: 1d }\n    next: s0\n");
    for i in (0..n).rev() {
        let next = if i + 1 == n {
            "again".to_owned()
        } else {
            format!("s{}", i + 1)
        };
        let read = if i == 0 {
            "0".to_owned()
        } else {
            format!("v{} + 1", i - 1)
        };
        text.push_str(&format!(
            "  - id: s{i}\n    set: {{ v{i}: '{read}' }}\n    next: {next}\n"
        ));
    }
    let v = timed("2000 steps backwards", &text);
    assert!(v.diagnostics.is_empty(), "{:#?}", &v.diagnostics[..3]);

    // And the CLI, end to end.
    let (status, stdout, took) = cli("chain.yaml", text.as_bytes(), &[]);
    assert_eq!(status, 0, "{stdout}");
    assert!(took < LIMIT, "the CLI took {took:?}");
}

/// The step graph's strongly connected components are found by a recursive search, one stack
/// frame per step of a chain: a long chain, well within the size limits, overflows a 2 MiB
/// thread stack (petgraph's `tarjan_scc`, from `check::graph::check`) and aborts the process.
#[test]
fn a_chain_within_the_limits_does_not_overflow_a_small_stack() {
    let text = chain(10_000);
    assert!(text.len() < 1024 * 1024);
    let v = on_small_stack(text);
    assert!(v.diagnostics.is_empty(), "{:#?}", &v.diagnostics[..3]);
}

#[test]
fn thousands_of_duplicate_keys_are_each_reported_quickly() {
    let mut text = String::from(HEAD);
    text.push_str("statuses:\n");
    for _ in 0..5_000 {
        text.push_str("  open: { fa: باز, en: Open }\n");
    }
    text.push_str("steps:\n  - id: done\n    status: open\n    end: { outcome: completed }\n");
    let v = timed("5000 duplicate keys", &text);
    assert_eq!(v.diagnostics.len(), 4_999, "{:#?}", &v.diagnostics[..3]);
    assert!(v.diagnostics.iter().all(|d| d.code == Code::DuplicateKey));
    let first_line = HEAD.lines().count() + 3;
    assert_eq!(first(&v).location.line, first_line);
    assert_eq!(first(&v).location.column, 3);

    // Thousands of distinct keys, and one flow mapping with the same key thousands of times.
    let text = format!(
        "{HEAD}description: {{ {} }}\nsteps: []\n",
        vec!["a: 1"; 20_000].join(", ")
    );
    let v = timed("20000 duplicate flow keys", &text);
    assert_eq!(
        v.diagnostics
            .iter()
            .filter(|d| d.code == Code::DuplicateKey)
            .count(),
        19_999
    );
    let (status, stdout, took) = cli("dups.yaml", text.as_bytes(), &[]);
    assert_eq!(status, 1);
    assert!(took < LIMIT, "the CLI took {took:?}");
    assert!(stdout.lines().count() >= 19_999);
}

#[test]
fn many_documents_and_odd_scalars_are_refused_quickly() {
    let text = "---\na: 1\n".repeat(50_000);
    let v = timed("50000 documents", &text);
    assert_eq!(codes(&v), [Code::YamlSyntax]);

    let text = format!(
        "{HEAD}version: !!binary {}\nsteps: []\n",
        "QUJD".repeat(100_000)
    );
    let v = timed("a large tagged scalar", &text);
    assert!(v.has_errors());

    let mut stdin_like = Vec::new();
    write!(stdin_like, "{HEAD}steps: ").unwrap();
    stdin_like.extend(std::iter::repeat_n(b'{', 300_000));
    let (status, _, took) = cli("braces.yaml", &stdin_like, &[]);
    assert_eq!(status, 1);
    assert!(took < LIMIT, "the CLI took {took:?}");
}
