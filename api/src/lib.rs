//! daftar's HTTP API: axum routes, the OpenAPI document, authentication and agency isolation,
//! and the web console. Built by the HTTP API issue on top of `daftar-engine`.
