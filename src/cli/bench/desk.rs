//! `daftar bench --scenario desk`: the desk's pages with many requests in the store.
//!
//! A fresh store is filled with `--desk-requests` requests written in bulk by the store's own
//! limit machinery ([`Template`]): the commits of one smart request that ended and of one
//! officer's request waiting at its review, recorded once by a real engine and written again
//! under new ids, [`limit::BATCH`](super::limit) instances a transaction. One request in ten
//! waits for an officer, so the worklist holds a tenth of them. Then the API and the desk are
//! built in this process, as `daftar serve` builds them, and each page is asked for
//! `--desk-rounds` times, each with a signed-in visitor's cookie: the time from handing the
//! request to the router to the last byte of the page is the server's time for it (no socket,
//! no browser).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use daftar_api::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, Keys, Role};
use daftar_engine::events::{Actor, StreamId};
use daftar_engine::runtime::workers::{self, Pace};
use daftar_engine::runtime::{Appended, Engine};
use daftar_engine::store::DefinitionRef;
use rand::RngExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::connectors::InProcess;
use super::limit::{Template, Until, tracking_code};
use super::load::round;
use super::stores::{self, Backend};
use super::{Args, OFFICER, SMART, input};

/// The agency of the bench services.
const AGENCY: &str = "bench";
/// Who filed every request.
const CITIZEN: &str = "bench-citizen";
/// The first instance number of the officer's requests (the smart ones count from 1).
const OFFICER_FROM: u64 = 1 << 40;

/// One page's server times over the rounds, in milliseconds.
fn figures(name: &str, mut times: Vec<Duration>, bytes: usize) -> Value {
    times.sort();
    let ms = |d: Duration| round(d.as_secs_f64() * 1000.0, 2);
    let at = |p: usize| times[(p * times.len()).div_ceil(100).max(1) - 1];
    json!({
        "page": name,
        "rounds": times.len(),
        "min_ms": ms(times[0]),
        "p50_ms": ms(at(50)),
        "p99_ms": ms(at(99)),
        "max_ms": ms(times[times.len() - 1]),
        "bytes": bytes,
    })
}

/// Fills a store of `backend` and times every page.
pub fn measure(backend: Backend, args: &Args, dir: &std::path::Path) -> anyhow::Result<Value> {
    let rt = super::super::runtime()?;
    let (result, fresh) = rt.block_on(async {
        let fresh =
            stores::fresh(backend, &format!("desk-{}", backend.name()), dir, &args.db).await?;
        let result = run(&fresh.store, &fresh.url, backend, args).await;
        anyhow::Ok((result, fresh))
    })?;
    rt.shutdown_timeout(Duration::from_secs(1));
    super::remove(fresh);
    result
}

async fn run(
    store: &Arc<dyn daftar_engine::store::Store>,
    url: &str,
    backend: Backend,
    args: &Args,
) -> anyhow::Result<Value> {
    let engine = Engine::open(store.clone(), InProcess::connectors()).await?;
    let (smart, officer) = record(&engine).await?;
    let filled = Instant::now();
    let per = |t: &Template| t.events() as u64;
    let officers = args.desk_requests / 10;
    let smarts = args.desk_requests - officers;
    eprintln!(
        "desk on {}: writing {} requests…",
        backend.name(),
        args.desk_requests
    );
    smart
        .write(store, 1, Until::Events(smarts * per(&smart)))
        .await?;
    officer
        .write(store, OFFICER_FROM, Until::Events(officers * per(&officer)))
        .await?;
    let fill_s = filled.elapsed().as_secs_f64();
    if backend == Backend::Postgres {
        // What autovacuum does within a minute of a bulk load (PostgreSQL 13 and later vacuum
        // after inserts too): without the statistics the planner takes the tables for nearly
        // empty and scans them (a manager's page took seconds), and without the visibility map
        // the counts read from indexes visit the table's rows as well.
        use sqlx::Connection as _;
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::query("VACUUM (ANALYZE) instances, tasks")
            .execute(&mut c)
            .await?;
    }
    let counts = store.service_counts(AGENCY, None, None).await?;
    let requests: u64 = counts.iter().map(|c| c.requests).sum();
    let smart_n = counts
        .iter()
        .filter(|c| c.workflow == "bench-smart")
        .map(|c| c.requests)
        .sum::<u64>();
    let officer_n = requests - smart_n;
    eprintln!(
        "desk on {}: {requests} requests in {fill_s:.1} s; timing the pages…",
        backend.name()
    );

    let secret: [u8; 32] = rand::random();
    let keys =
        Keys::hs256(&secret, DEFAULT_ISSUER, DEFAULT_AUDIENCE).map_err(anyhow::Error::msg)?;
    let mint = |who: &str, role: Role, task_roles: Vec<String>| {
        keys.mint(who, AGENCY, vec![role], task_roles, 3600)
            .map_err(anyhow::Error::msg)
    };
    let officer_token = mint("bench-officer", Role::Officer, vec!["officer".to_owned()])?;
    let auditor = mint("bench-auditor", Role::Auditor, vec![])?;
    let admin = mint("bench-admin", Role::Admin, vec![])?;
    let designer = mint("bench-designer", Role::Designer, vec![])?;
    let citizen = mint(CITIZEN, Role::Citizen, vec![])?;
    let state = daftar_api::AppState::new(daftar_api::Config {
        limits: daftar_api::RateLimits {
            per_agency_per_minute: std::num::NonZeroU32::MAX,
            per_filer_per_hour: std::num::NonZeroU32::MAX,
        },
        ..daftar_api::Config::new(engine.clone(), keys.clone())
    });
    let app = daftar_api::app(state.clone()).merge(daftar_desk::router(daftar_desk::Config {
        api: state,
        demo: None,
        secure_cookies: false,
        public_url: None,
        form_secret: None,
    }));
    let page = Pager { app: app.clone() };

    // The worklist's second page, from the first page's link.
    let (_, first) = page.get("/tasks", Some(&officer_token)).await?;
    let second = link(&first, "page-next").context("the worklist has no second page")?;
    let (_, requests_page) = page.get("/requests", Some(&auditor)).await?;
    let requests_second =
        link(&requests_page, "page-next").context("the listing has no second page")?;
    let (visit, form) = page.get("/track", None).await?;
    let csrf = hidden(&form, "csrf").context("the tracking form has no CSRF token")?;
    let visit = visit.context("the tracking form set no visit cookie")?;

    let mut rng = rand::rng();
    // A request of the store at random: its id and its tracking code.
    let mut any_request = move || {
        let n = if rng.random_ratio(1, 10) {
            OFFICER_FROM + rng.random_range(0..officer_n.max(1))
        } else {
            1 + rng.random_range(0..smart_n.max(1))
        };
        (format!("i-f{n:023x}"), tracking_code(n))
    };
    let mut ask = |name: &str| match name {
        "worklist" => Ask::get("/tasks", &officer_token),
        "worklist, page 2" => Ask::get(&second, &officer_token),
        "requests" => Ask::get("/requests", &auditor),
        "requests, page 2" => Ask::get(&requests_second, &auditor),
        "record" => Ask::get(&format!("/requests/{}/record", any_request().0), &auditor),
        "citizen's request" => Ask::get(&format!("/requests/{}", any_request().0), &citizen),
        "tracking" => Ask::track(&visit, &csrf, &any_request().1),
        "manager" => Ask::get("/manage", &admin),
        "designer" => Ask::get("/designer", &designer),
        _ => Ask::get("/services", &citizen),
    };
    let pages = [
        "worklist",
        "worklist, page 2",
        "requests",
        "requests, page 2",
        "record",
        "citizen's request",
        "tracking",
        "manager",
        "designer",
        "catalog",
    ];
    let mut results = Vec::new();
    for name in pages {
        // A few rounds first, left out: the caches and the database's pages warm up.
        for _ in 0..5 {
            page.time(ask(name))
                .await
                .with_context(|| format!("the {name} page"))?;
        }
        let mut times = Vec::with_capacity(args.desk_rounds);
        let mut bytes = 0;
        for _ in 0..args.desk_rounds {
            let (t, b) = page
                .time(ask(name))
                .await
                .with_context(|| format!("the {name} page"))?;
            times.push(t);
            bytes = b;
        }
        let v = figures(name, times, bytes);
        if !args.json {
            eprintln!(
                "desk on {}: {name}: min {} ms, p50 {} ms, p99 {} ms",
                backend.name(),
                v["min_ms"],
                v["p50_ms"],
                v["p99_ms"]
            );
        }
        results.push(v);
    }
    Ok(json!({
        "store": backend.name(),
        "requests": requests,
        "waiting_for_an_officer": officer_n,
        "fill_s": round(fill_s, 1),
        "pages": results,
    }))
}

/// Files one smart request and one officer's request and keeps their commits, once the first
/// has ended and the second waits at its review.
async fn record(engine: &Arc<Engine>) -> anyhow::Result<(Template, Template)> {
    let mut feed = engine.subscribe();
    let background = workers::spawn(engine.clone(), Pace::default());
    let mut started = Vec::new();
    for (file, source) in [
        ("examples/bench/smart.yaml", SMART),
        ("examples/bench/officer.yaml", OFFICER),
    ] {
        let d = engine.deploy(file, source).await?;
        let done = engine
            .start(
                AGENCY,
                &d.workflow,
                input(),
                None,
                Actor::Applicant(CITIZEN.to_owned()),
            )
            .await?;
        let definition = DefinitionRef {
            workflow: d.workflow.clone(),
            version: d.version,
            hash: d.hash.clone(),
        };
        started.push((done.stream, definition));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen: Vec<Arc<Appended>> = Vec::new();
    loop {
        while let Ok(a) = feed.try_recv() {
            seen.push(a);
        }
        let smart = engine.state(&started[0].0).await?;
        let officer = engine.state(&started[1].0).await?;
        if smart.ended() && officer.tasks.values().any(|t| t.open) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the recorded requests did not come to rest in 30 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(background);
    while let Ok(a) = feed.try_recv() {
        seen.push(a);
    }
    let of = |s: &StreamId| -> Vec<Arc<Appended>> {
        seen.iter().filter(|a| a.stream == *s).cloned().collect()
    };
    let smart = Template::new(&of(&started[0].0), &started[0].1)
        .context("the smart request's commits cannot be written again")?;
    let officer = Template::waiting(&of(&started[1].0), &started[1].1)
        .context("the officer's request's commits cannot be written again")?;
    Ok((smart, officer))
}

/// A page to ask for.
struct Ask(Request<Body>);

impl Ask {
    fn get(path: &str, token: &str) -> Ask {
        Ask(Request::get(path)
            .header(header::COOKIE, format!("daftar_session={token}"))
            .body(Body::empty())
            .expect("a request"))
    }

    fn track(visit: &str, csrf: &str, code: &str) -> Ask {
        Ask(Request::post("/track")
            .header(header::COOKIE, visit)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={csrf}&code={code}&mobile=09121234567"
            )))
            .expect("a request"))
    }
}

/// The desk and the API in this process.
struct Pager {
    app: Router,
}

impl Pager {
    /// The server's time for a page, and its size; a page that is not a 200 is an error.
    async fn time(&self, ask: Ask) -> anyhow::Result<(Duration, usize)> {
        let t = Instant::now();
        let response = self.app.clone().oneshot(ask.0).await?;
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await?;
        let elapsed = t.elapsed();
        if status != StatusCode::OK {
            bail!(
                "{status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(400)])
            );
        }
        Ok((elapsed, body.len()))
    }

    /// A page's cookie (`name=value` of the first it sets) and text.
    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> anyhow::Result<(Option<String>, String)> {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header(header::COOKIE, format!("daftar_session={token}"));
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::empty())?)
            .await?;
        let cookie = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("daftar_visit="))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned);
        let body = to_bytes(response.into_body(), usize::MAX).await?;
        Ok((cookie, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The `href` of the link with this id.
fn link(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    // The templates escape what they write into attributes.
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&#x3d;", "=")
            .replace("&amp;", "&"),
    )
}

/// The value of the hidden input with this name.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let end = at + html[at..].find('"')?;
    Some(html[at..end].to_owned())
}
