//! What `daftar serve --demo` needs, built into the binary so that it runs from any folder:
//! the example services, their connector catalog, the simulator's seed and configuration, and
//! the tokens a newcomer signs in with.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use daftar_api::auth::{Keys, Role};
use daftar_definitions::Options;
use daftar_definitions::model::StepKindRef;

macro_rules! workflow {
    ($file:literal) => {
        (
            concat!("examples/workflows/", $file),
            include_str!(concat!("../../examples/workflows/", $file)),
        )
    };
}
/// The example services of `examples/workflows/`, as (file name, source).
pub const WORKFLOWS: &[(&str, &str)] = &[
    workflow!("applicant-verification.yaml"),
    workflow!("clean-record-certificate.yaml"),
    workflow!("greenhouse-permit.yaml"),
    workflow!("home-business-permit.yaml"),
    workflow!("judicial-asset-freeze.yaml"),
    workflow!("licence-renewal-reminders.yaml"),
    workflow!("municipal-building-permit.yaml"),
    workflow!("passport-renewal.yaml"),
    workflow!("utility-connection.yaml"),
];

/// The simulator's people and records (`examples/simulator/seed.yaml`).
pub const SEED: &str = include_str!("../../examples/simulator/seed.yaml");
/// The simulator's configuration (`examples/simulator/config.yaml`).
pub const CONFIG: &str = include_str!("../../examples/simulator/config.yaml");

/// The demo's registered codes of the example agencies, which their national document IDs
/// start with (`serve --document-code`). Real codes are given by the national registry.
pub const DOCUMENT_CODES: &[(&str, &str)] = &[
    ("judiciary", "JDCR"),
    ("mcls", "MCSW"),
    ("municipality", "MNCP"),
    ("national-permits-portal", "NPPT"),
    ("police-passport", "PPSP"),
    ("power-distribution", "PWRD"),
];

/// The agency the README's first steps use.
pub const AGENCY: &str = "judiciary";

/// How long the printed tokens are valid.
const TOKEN_TTL_SECS: u64 = 12 * 3600;

/// The task roles of each agency's services (task roles, candidate groups and the roles
/// tasks escalate to), so that an officer token of the demo sees every task of its agency.
pub fn task_roles<'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, Vec<String>> {
    let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, source) in sources {
        let Ok(compiled) = daftar_definitions::compile(name, source, Options::default()) else {
            continue;
        };
        let agency = roles.entry(compiled.workflow().agency.clone()).or_default();
        for step in compiled.steps() {
            let Some(StepKindRef::Task(task)) = step.kind() else {
                continue;
            };
            let named = task.role.iter().chain(&task.candidate_groups);
            for role in named.chain(task.escalation.iter().map(|e| &e.to)) {
                if !agency.contains(role) {
                    agency.push(role.clone());
                }
            }
        }
    }
    roles
}

/// The sign-in block `serve --demo` prints: shell lines a person can paste, one token per
/// role for the README's agency and an officer and a citizen for each other agency.
pub fn tokens_block(keys: &Keys, roles: &BTreeMap<String, Vec<String>>) -> Result<String, String> {
    let mint = |agency: &str, who: &str, role: Role, task_roles: Vec<String>| {
        keys.mint(
            &format!("demo-{who}"),
            agency,
            vec![role],
            task_roles,
            TOKEN_TTL_SECS,
        )
    };
    let mut out = String::new();
    let hours = TOKEN_TTL_SECS / 3600;
    let _ = writeln!(
        out,
        "# demo tokens, valid {hours} h: paste these lines into your shell\n\
         # توکن‌های نمایشی، {} ساعت معتبر: این سطرها را در پوسته بچسبانید",
        persian_digits(&hours.to_string())
    );
    let theirs = |agency: &str| roles.get(agency).cloned().unwrap_or_default();
    for (var, role) in [
        ("CITIZEN", Role::Citizen),
        ("OFFICER", Role::Officer),
        ("DESIGNER", Role::Designer),
        ("AUDITOR", Role::Auditor),
        ("ADMIN", Role::Admin),
    ] {
        let task_roles = if role == Role::Officer {
            theirs(AGENCY)
        } else {
            Vec::new()
        };
        let token = mint(AGENCY, role.as_str(), role, task_roles)?;
        let _ = writeln!(out, "export {var}_TOKEN={token}   # {AGENCY}");
    }
    for agency in roles.keys().filter(|a| a.as_str() != AGENCY) {
        let prefix = agency.to_uppercase().replace('-', "_");
        let task_roles = theirs(agency);
        let officer = mint(agency, "officer", Role::Officer, task_roles.clone())?;
        let citizen = mint(agency, "citizen", Role::Citizen, Vec::new())?;
        let admin = mint(agency, "admin", Role::Admin, Vec::new())?;
        let what = if task_roles.is_empty() {
            String::new()
        } else {
            format!(", task roles {}", task_roles.join(" "))
        };
        let _ = writeln!(out, "export {prefix}_CITIZEN_TOKEN={citizen}   # {agency}");
        let _ = writeln!(
            out,
            "export {prefix}_OFFICER_TOKEN={officer}   # {agency}{what}"
        );
        let _ = writeln!(out, "export {prefix}_ADMIN_TOKEN={admin}   # {agency}");
    }
    Ok(out)
}

fn persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32('۰' as u32 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// A new example service is built into the demo too.
    #[test]
    fn every_example_workflow_is_built_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .map(|n| format!("examples/workflows/{n}"))
            .collect();
        on_disk.sort();
        let built_in: Vec<String> = super::WORKFLOWS
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect();
        assert_eq!(built_in, on_disk);
    }
}
