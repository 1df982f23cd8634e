//! daftar's HTTP surface. Today: the endpoints agencies and gateways call back
//! ([`callbacks`]). The REST API, OpenAPI, authentication and agency isolation come with the
//! HTTP API issue and build on the same [`Engine`](daftar_engine::runtime::Engine).

pub mod callbacks;
