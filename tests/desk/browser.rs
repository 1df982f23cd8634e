//! What the desk's browser tests share: the real `daftar serve --demo` binary on free ports
//! (its simulator in the same process, answering over HTTP), a real headless Chromium driven
//! through chromedriver over WebDriver (`fantoccini`), and the screenshots of the pages.
//!
//! Without `chromium` and `chromedriver` on the PATH a test says loudly that it was skipped;
//! with `DAFTAR_REQUIRE_BROWSER=1` (as CI sets) it fails instead. With
//! `DAFTAR_DESK_SCREENSHOTS=1` each page the tests name is saved into `docs/desk/` as PNG.

use std::io::{BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The token secret the server is started with, so that a test can mint tokens too.
pub const SECRET: &str = "desk-test-secret-0123456789abcdef-0123";

/// A child process killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `daftar serve --demo` and a browser pointed at it.
pub struct Desk {
    /// The browser.
    pub browser: Client,
    /// The server's address, `http://127.0.0.1:PORT`.
    pub url: String,
    driver_port: u16,
    /// The processes and the folder, held by the first browser only.
    _held: Option<(Kill, Kill, tempfile::TempDir)>,
}

/// Whether the browser is here; when it is not, says so loudly, or fails when CI requires it.
fn browser_present(test: &str) -> bool {
    let found = ["chromium", "chromedriver"].iter().all(|p| {
        Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found {
        return true;
    }
    assert!(
        std::env::var("DAFTAR_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "{test}: DAFTAR_REQUIRE_BROWSER=1 but chromium and chromedriver are not on the PATH \
         (apt-get install chromium chromium-driver)"
    );
    // Written to the process's standard error, past the test harness's capture, so that a
    // passing run still shows it.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !! SKIPPED {test}: chromium and chromedriver are not on the PATH.\n\
         !! The desk was NOT tested in a browser. Install them (Debian: apt-get install\n\
         !! chromium chromium-driver) or set DAFTAR_REQUIRE_BROWSER=1 to fail instead.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A new browser session (its own profile, so its own cookies) of the chromedriver on `port`.
async fn session(port: u16) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1200,1000", "--lang=fa"]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!("an object")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("chromedriver starts a headless Chromium")
}

impl Desk {
    /// A second person at the same desk: another browser, with its own cookies.
    pub async fn second(&self) -> Desk {
        Desk {
            browser: session(self.driver_port).await,
            url: self.url.clone(),
            driver_port: self.driver_port,
            _held: None,
        }
    }

    /// Starts the server and the browser, or `None` when there is no browser to start.
    pub async fn start(test: &str) -> Option<Desk> {
        if !browser_present(test) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut server = Command::new(env!("CARGO_BIN_EXE_daftar"))
            .current_dir(dir.path())
            .env("DAFTAR_JWT_SECRET", SECRET)
            .env_remove("DAFTAR_DB")
            .env_remove("DAFTAR_DEFINITIONS")
            .env_remove("DAFTAR_CONNECTORS")
            .env_remove("DAFTAR_CALLBACK_TOKEN")
            .env_remove("RUST_LOG")
            .args(daftar_testkit::process::SERVE_DEMO)
            .arg("--db")
            .arg(dir.path().join("daftar.db"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("daftar serve stopped before it said where it serves")
                .unwrap();
            if let Some(rest) = line.strip_prefix("daftar serving on ") {
                break rest.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let server = Kill(server);

        let port = free_port();
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(driver.stdout.take().unwrap()).lines();
        let driver = Kill(driver);
        loop {
            let line = out.next().expect("chromedriver stopped").unwrap();
            if line.contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || for _ in out {});
        let browser = session(port).await;
        Some(Desk {
            browser,
            url,
            driver_port: port,
            _held: Some((server, driver, dir)),
        })
    }

    /// Opens a page of the desk.
    pub async fn open(&self, path: &str) {
        self.browser
            .goto(&format!("{}{path}", self.url))
            .await
            .unwrap();
    }

    /// Clicks the element with this id.
    pub async fn click(&self, id: &str) {
        self.browser
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id} on the page: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Types into the field with this id, replacing what it held.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.browser.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Chooses an option of the select with this id.
    pub async fn choose(&self, id: &str, value: &str) {
        self.browser
            .find(Locator::Id(id))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// The text of the element with this id, waiting for it up to `within`.
    pub async fn text_within(&self, id: &str, within: Duration) -> String {
        self.browser
            .wait()
            .at_most(within)
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no #{id} on the page: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// The text of the element with this id.
    pub async fn text(&self, id: &str) -> String {
        self.text_within(id, Duration::from_secs(10)).await
    }

    /// The page's source.
    pub async fn source(&self) -> String {
        self.browser.source().await.unwrap()
    }

    /// The HTML of the page's `main`.
    pub async fn main_html(&self) -> String {
        self.browser
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .html(false)
            .await
            .unwrap()
    }

    /// The page's path.
    pub async fn path(&self) -> String {
        self.browser.current_url().await.unwrap().path().to_owned()
    }

    /// Signs in with one click as one of the demo's people.
    pub async fn demo_sign_in(&self, role: &str, agency: &str) {
        self.open("/").await;
        self.click(&format!("demo-{role}-{agency}")).await;
        // Signed in, the page has the sign-out button.
        self.browser
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("form[action='/sign-out'] button"))
            .await
            .expect("signed in");
    }

    /// Signs out.
    pub async fn sign_out(&self) {
        self.browser
            .find(Locator::Css("form[action='/sign-out'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // Signed out, the page is the sign-in page.
        self.browser
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("sign-in"))
            .await
            .expect("signed out");
    }

    /// Waits until the browser is at `path`, up to ten seconds; answers where it is.
    pub async fn until_path(&self, path: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.path().await;
            if now == path || Instant::now() > deadline {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page's text has `needle`, up to `within`.
    pub async fn until_text(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.source().await.contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }

    /// Saves the page as `docs/desk/{name}.png` when `DAFTAR_DESK_SCREENSHOTS=1`.
    pub async fn screenshot(&self, name: &str) {
        if std::env::var("DAFTAR_DESK_SCREENSHOTS").as_deref() != Ok("1") {
            return;
        }
        let png = self.browser.screenshot().await.unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/desk");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Closes the browser.
    pub async fn close(self) {
        let _ = self.browser.close().await;
    }
}
