//! The integration tests, in one binary (the workspace is linked once): real clients over
//! stdio and HTTP against the example and test servers, the refusal table of the resource
//! server, the development authorization server, rate limits against a real Redis, the
//! checker, and the Wycheproof vectors.
//!
//! Two suites keep binaries of their own because they need a process to themselves:
//! `canary.rs` (process-wide log and panic capture) and `rate_memory.rs` (peak memory).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod adoption;
mod check;
mod check_clients;
mod client_requests;
mod conformance;
mod denials;
mod dev_auth;
mod docs;
mod dpop;
mod examples;
mod exchange;
mod http;
mod http_security;
mod mixed;
mod node;
mod pipeline;
mod providers;
mod rate_limits;
mod replicas;
mod stdio;
mod surface;
mod wycheproof;

/// The `data_server` example binary.
const DATA_SERVER: &str = env!("CARGO_BIN_EXE_data_server");
