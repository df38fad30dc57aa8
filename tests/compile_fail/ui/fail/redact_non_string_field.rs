use mcp_secure::redact::Redact;

#[derive(Redact)]
struct Settings {
    #[redact]
    port: u16,
}

fn main() {}
