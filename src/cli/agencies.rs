//! What every node of an agency must be told alike: its business calendar and its registered
//! document code. `serve`, `run` and `work` take the same flags, so that a worker node computes
//! the same working-time deadlines and issues document IDs under the same code as the node
//! that serves the API.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use daftar_definitions::calendar::Calendar;
use daftar_engine::runtime::Engine;

/// The flags.
#[derive(Debug, Default, clap::Args)]
pub struct Agencies {
    /// A business calendar (weekend, working hours, official holidays) that working-time
    /// deadlines are counted by: `FILE` for every agency, `AGENCY=FILE` for one agency; may be
    /// given more than once. By default the calendar daftar ships (Iran, Jalali 1405–1406).
    #[arg(
        long = "calendar",
        value_name = "[AGENCY=]FILE",
        env = "DAFTAR_CALENDAR",
        value_delimiter = ','
    )]
    pub calendars: Vec<String>,
    /// An agency's registered code, the first four characters of the national document IDs it
    /// issues: `AGENCY=CODE`, four characters of 0-9 and A-Z less I, L, O and U, the first a
    /// letter other than Z (docs/national.md); may be given more than once. An agency with none
    /// issues IDs under a code made up from its name (`Z…`). With `--demo`, the example
    /// agencies have the demo's codes unless named here.
    #[arg(
        long = "document-code",
        value_name = "AGENCY=CODE",
        env = "DAFTAR_DOCUMENT_CODES",
        value_delimiter = ','
    )]
    pub document_codes: Vec<String>,
}

/// The flags read: the calendars loaded, the codes split.
pub struct Loaded {
    calendars: Vec<(Option<String>, Calendar)>,
    codes: Vec<(String, String)>,
}

impl Agencies {
    /// Reads the calendars' files and splits the codes, before anything is opened. A calendar
    /// whose holidays end before today is used, with a warning: past its years only weekends
    /// count.
    pub fn load(&self) -> anyhow::Result<Loaded> {
        let today = chrono::Utc::now().date_naive();
        let calendars = self
            .calendars
            .iter()
            .map(|arg| {
                let (agency, path) = match arg.split_once('=') {
                    Some((agency, path)) => (Some(agency.to_owned()), path),
                    None => (None, arg.as_str()),
                };
                let calendar = super::files::load_calendar(Path::new(path))?;
                if calendar.covers().1 < today {
                    tracing::warn!(
                        calendar = path,
                        "the calendar's holidays end on {}; add the new year's holidays (docs/operations.md)",
                        calendar.covers().1
                    );
                }
                Ok((agency, calendar))
            })
            .collect::<anyhow::Result<_>>()?;
        let codes = self
            .document_codes
            .iter()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(a, c)| (a.to_owned(), c.to_owned()))
                    .with_context(|| format!("--document-code {pair}: give AGENCY=CODE"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Loaded { calendars, codes })
    }
}

impl Loaded {
    /// Gives the engine the calendars and the codes; `defaults` are codes for agencies the
    /// flags do not name (the demo's).
    pub fn apply(self, engine: &Engine, defaults: &[(&str, &str)]) -> anyhow::Result<()> {
        for (agency, calendar) in self.calendars {
            engine.set_calendar(agency.as_deref(), Arc::new(calendar));
        }
        let mut codes: Vec<(String, String)> = defaults
            .iter()
            .filter(|(a, _)| !self.codes.iter().any(|(n, _)| n == a))
            .map(|(a, c)| ((*a).to_owned(), (*c).to_owned()))
            .collect();
        codes.extend(self.codes);
        for (agency, code) in codes {
            engine
                .set_document_code(&agency, &code)
                .map_err(|e| anyhow::anyhow!("--document-code {agency}={code}: {e}"))?;
        }
        Ok(())
    }
}
