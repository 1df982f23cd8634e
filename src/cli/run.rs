//! `daftar run FILE --input JSON`: deploys a definition, files one request and drives it
//! until it ends or waits for something the dry run cannot give (an officer, a timer, a
//! message), printing its tracking code, status and events.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use daftar_engine::connectors::scripted::Scripted;
use daftar_engine::connectors::{Connectors, Notifier, SendOutcome, Sms};
use daftar_engine::core::{Command, Delivery, PAYMENT, Wait};
use daftar_engine::events::Actor;
use daftar_engine::runtime::Engine;
use daftar_engine::runtime::workers::{self, Pace};
use serde_json::Value;

/// Prints SMS instead of sending them: a dry run reaches no gateway.
#[derive(Debug)]
struct Console;

#[async_trait]
impl Notifier for Console {
    async fn send(&self, sms: &Sms) -> SendOutcome {
        eprintln!("SMS to {}: {}", sms.recipient, sms.text);
        SendOutcome::Sent {
            gateway_id: Some("console".to_owned()),
        }
    }

    async fn lookup(&self, _reference: &str) -> SendOutcome {
        SendOutcome::Unknown
    }
}

pub async fn run(
    file: &Path,
    input: &str,
    answers: Option<&Path>,
    db: &str,
) -> anyhow::Result<ExitCode> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let input: Value = serde_json::from_str(input).context("--input is not JSON")?;
    let answers: BTreeMap<String, Value> = match answers {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON object of answers", path.display()))?
        }
        None => BTreeMap::new(),
    };
    let scripted = Arc::new(Scripted::new(answers));
    let store = super::db::open(db).await?;
    let connectors = Connectors {
        inquiries: Some(scripted.clone()),
        notifier: Some(Arc::new(Console)),
        payments: Some(scripted.clone()),
    };
    let engine = Engine::open(store, connectors).await?;
    let deployed = match engine.deploy(&file.display().to_string(), &source).await {
        Ok(d) => d,
        Err(e) => bail!("{e}"),
    };
    let started = engine
        .start(
            &deployed.agency,
            &deployed.workflow,
            input,
            None,
            Actor::Citizen,
        )
        .await?;
    let stream = started.stream.clone();
    let _loops = workers::spawn(
        engine.clone(),
        Pace {
            poll: Duration::from_millis(20),
            ..Pace::default()
        },
    );

    // Drive until the instance ends or nothing has changed for a while.
    let mut last = 0;
    let mut quiet = 0;
    // At most 30 s, however busy the instance stays.
    for _ in 0..1500 {
        if quiet >= 25 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let state = engine.state(&stream).await?;
        let sms_pending = state
            .notifications
            .values()
            .any(|d| *d == Delivery::Pending);
        if state.ended() && !sms_pending {
            break;
        }
        for (token, t) in &state.tokens {
            if let Wait::PaymentOpen { reference } = &t.wait {
                let step = engine
                    .definition_of(&state)?
                    .compiled()
                    .step(&t.step)
                    .cloned();
                let connector = step
                    .and_then(|s| s.payment.map(|p| p.connector))
                    .unwrap_or_default();
                let command = Command::DeliverMessage {
                    name: PAYMENT.to_owned(),
                    correlation: reference.clone(),
                    message_id: format!("dry-run-{reference}"),
                    payload: scripted.payment_result(&connector),
                };
                let _ = engine
                    .execute(
                        &stream,
                        &command,
                        &format!("dry-run:{token}:{reference}"),
                        Actor::Connector(connector),
                        None,
                    )
                    .await;
            }
        }
        if state.version == last && !sms_pending {
            quiet += 1;
        } else {
            quiet = 0;
            last = state.version;
        }
    }

    let state = engine.state(&stream).await?;
    let history = engine.store().load(&stream).await?;
    for e in &history {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({"version": e.version, "event": e.event}))?
        );
    }
    eprintln!("instance:      {stream}");
    eprintln!("tracking code: {}", state.tracking_code);
    eprintln!("status:        {}", state.status.as_deref().unwrap_or("-"));
    match &state.ending {
        Some(ending) => eprintln!("ended:         {}", serde_json::to_string(ending)?),
        None => {
            for (token, t) in &state.tokens {
                eprintln!("waiting:       token {token} at `{}`: {:?}", t.step, t.wait);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
