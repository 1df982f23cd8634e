//! `daftar simulate`: plays every agency of the connector catalog, the SMS centre and the
//! payment gateway on 127.0.0.1 until killed (see docs/simulator.md).

use std::path::Path;
use std::process::ExitCode;

use daftar_simulator::Simulator;

/// Loads the seed and configuration and serves until killed. Prints the bound address on its
/// first line of standard output, so `--port 0` can be used by scripts.
pub async fn run(
    port: u16,
    config: &Path,
    seed: &Path,
    callback_token: &str,
) -> anyhow::Result<ExitCode> {
    let sim = Simulator::from_files(seed, config)?;
    sim.set_callback_token(Some(callback_token.to_owned()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    println!("daftar simulate listening on http://{addr}");
    eprintln!(
        "{} people, {} addresses, {} deeds; config {}, seed {}",
        sim.seed().people.len(),
        sim.seed().addresses.len(),
        sim.seed().deeds.len(),
        config.display(),
        seed.display()
    );
    daftar_simulator::serve(listener, sim).await?;
    Ok(ExitCode::SUCCESS)
}
