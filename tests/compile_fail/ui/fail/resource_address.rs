use mcp_secure::prelude::*;

#[derive(Clone)]
struct Server {
    security: Security,
}

#[secure_server]
impl Server {
    #[secure_resource(public)]
    async fn nowhere(&self) -> String {
        "no address".into()
    }

    #[secure_resource(uri_template = "notes://{id}{rev}", public)]
    async fn ambiguous(&self) -> String {
        "two variables in a row".into()
    }

    #[secure_resource(uri = "notes://one", uri_template = "notes://{id}", public)]
    async fn both(&self) -> String {
        "both".into()
    }
}

fn main() {}
