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
