//! `#[derive(Redact)]` on structs, tuple structs and enums; `nested` and `with`.
use mcp_secure::redact::{MASK, Redact};

#[derive(Redact)]
struct Inner {
    #[redact]
    token: String,
}

fn wipe(v: &mut Vec<u8>) {
    v.clear();
}

#[derive(Redact)]
struct Outer {
    name: String,
    #[redact]
    password: Option<String>,
    #[redact]
    keys: Vec<String>,
    #[redact(nested)]
    inner: Inner,
    #[redact(with = "wipe")]
    raw: Vec<u8>,
}

#[derive(Redact)]
struct Tuple(String, #[redact] String);

#[derive(Redact)]
enum Credential {
    Password {
        user: String,
        #[redact]
        password: String,
    },
    Token(#[redact] String),
    None,
}

fn main() {
    let mut o = Outer {
        name: "n".into(),
        password: Some("p".into()),
        keys: vec!["k".into()],
        inner: Inner { token: "t".into() },
        raw: vec![1],
    };
    o.redact();
    assert_eq!(o.name, "n");
    assert_eq!(o.password.as_deref(), Some(MASK));
    assert_eq!(o.keys, vec![MASK.to_string()]);
    assert_eq!(o.inner.token, MASK);
    assert!(o.raw.is_empty());
    let mut t = Tuple("a".into(), "b".into());
    t.redact();
    assert_eq!((t.0.as_str(), t.1.as_str()), ("a", MASK));
    let mut c = Credential::Password { user: "u".into(), password: "p".into() };
    c.redact();
    assert!(matches!(c, Credential::Password { ref user, ref password } if user == "u" && password == MASK));
    let mut c = Credential::Token("t".into());
    c.redact();
    assert!(matches!(c, Credential::Token(ref t) if t == MASK));
    let mut n = Credential::None;
    n.redact();
}
