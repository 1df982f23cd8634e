//! The example seed is well-formed: valid national IDs, mobiles and postal codes, and every
//! reference between its records points at something that exists.

use daftar_definitions::formats::{is_mobile, is_national_id, is_postal_code};
use daftar_simulator::{Config, Seed};

fn seed() -> Seed {
    Seed::from_yaml(include_str!("../../examples/simulator/seed.yaml")).expect("seed loads")
}

#[test]
fn every_national_id_is_valid() {
    let s = seed();
    let ids = s
        .people
        .iter()
        .map(|p| &p.national_id)
        .chain(s.deeds.iter().flat_map(|d| &d.owners))
        .chain(s.passports.iter().map(|p| &p.national_id))
        .chain(s.business_licences.iter().map(|l| &l.holder_national_id))
        .chain(s.holdings.iter().map(|h| &h.national_id));
    for id in ids {
        assert!(is_national_id(id), "{id}");
        assert!(s.person(id).is_some(), "{id} is not a person of the seed");
    }
}

#[test]
fn mobiles_and_postal_codes_are_valid() {
    let s = seed();
    for p in &s.people {
        for m in &p.mobiles {
            assert!(is_mobile(m), "{m}");
        }
    }
    for l in &s.business_licences {
        assert!(is_mobile(&l.holder_mobile), "{}", l.holder_mobile);
    }
    for a in &s.addresses {
        assert!(is_postal_code(&a.postal_code), "{}", a.postal_code);
    }
    assert!(
        is_postal_code("1136713341"),
        "the documented unknown postal code is valid"
    );
}

#[test]
fn the_example_config_loads() {
    let c =
        Config::from_yaml(include_str!("../../examples/simulator/config.yaml")).expect("config");
    assert_eq!(c.faults("stock_exchange").callback_delay_ms, 2000);
    assert_eq!(c.faults("civil_registry").latency_ms, 20);
}

#[test]
fn jalali_dates() {
    assert_eq!(
        daftar_simulator::seed::to_jalali(2026, 12, 2),
        (1405, 9, 11)
    );
    assert_eq!(daftar_simulator::seed::to_jalali(2024, 3, 20), (1403, 1, 1));
}

/// docs/simulator.md tells which person drives which path, with their birth dates: those dates
/// are the seed's, and so are the example inputs' of the workflows.
#[test]
fn the_birth_dates_in_the_docs_and_the_examples_are_the_seeds() {
    let s = seed();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut texts = vec![std::fs::read_to_string(root.join("docs/simulator.md")).unwrap()];
    for entry in std::fs::read_dir(root.join("examples/workflows")).unwrap() {
        texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let mut checked = 0;
    for text in &texts {
        // A 10-digit national ID followed, before the next ID, by a date: that is its birth date.
        let bytes = text.as_bytes();
        let ids: Vec<(usize, &str)> = (0..bytes.len().saturating_sub(10))
            .filter(|&i| {
                bytes[i..i + 10].iter().all(u8::is_ascii_digit)
                    && (i == 0 || !bytes[i - 1].is_ascii_digit())
                    && bytes.get(i + 10).is_none_or(|b| !b.is_ascii_digit())
            })
            .map(|i| (i, &text[i..i + 10]))
            .filter(|(_, id)| s.person(id).is_some())
            .collect();
        for (n, (at, id)) in ids.iter().enumerate() {
            let end = ids.get(n + 1).map_or(text.len(), |(next, _)| *next);
            let span = &text[*at..end.min(at + 120)];
            let date = span.char_indices().find_map(|(i, _)| {
                let d = span.get(i..i + 10)?;
                let b = d.as_bytes();
                (b[4] == b'-'
                    && b[7] == b'-'
                    && d.replace('-', "").bytes().all(|c| c.is_ascii_digit()))
                .then_some(d)
            });
            if let Some(date) = date {
                let person = s.person(id).unwrap();
                assert_eq!(date, person.birth_date, "{id} near: {span}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} dates found");
}
