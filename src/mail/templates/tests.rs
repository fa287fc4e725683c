//! The composer's messages: links from `PUBLIC_URL`, escaping, the languages.
use super::*;
use crate::accounts::model::{Role, Tier};

fn user(username: &str) -> User {
    let now = Utc::now();
    User {
        id: uuid::Uuid::now_v7(),
        username: username.to_owned(),
        email: "ada@example.com".to_owned(),
        full_name: None,
        role: Role::User,
        tier: Tier::Basic,
        is_active: true,
        email_verified: false,
        pending_email: None,
        locale: None,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    }
}

#[test]
fn every_message_has_text_and_html_with_links_from_the_public_url() {
    let composer = Composer::new("https://accounts.example/").unwrap();
    let ada = user("ada");
    let reset = composer
        .password_reset(&ada, "tok-123", ValidFor::Minutes(30))
        .unwrap();
    let link = "https://accounts.example/reset-password?token=tok-123";
    assert!(reset.text.contains(link), "{}", reset.text);
    assert!(
        reset.html.contains(&format!("href=\"{link}\"")),
        "{}",
        reset.html
    );
    assert!(reset.text.contains("30 minutes"));

    let verify = composer
        .email_verification(&ada, "tok-456", ValidFor::Hours(48))
        .unwrap();
    assert!(
        verify
            .text
            .contains("https://accounts.example/verify-email?token=tok-456")
    );
    assert!(verify.text.contains("ada@example.com"));

    let changed = composer
        .password_changed(&ada, PasswordChange::Reset, Utc::now())
        .unwrap();
    assert!(changed.text.contains("was reset at"));
    assert!(!changed.text.contains("token="));
    assert!(changed.html.contains("https://accounts.example"));
}

#[test]
fn html_escapes_what_users_chose() {
    let composer = Composer::new("http://roster.test").unwrap();
    let mallory = user("<b>mallory</b>");
    let mail = composer
        .email_verification(&mallory, "t", ValidFor::Hours(48))
        .unwrap();
    assert!(
        mail.html.contains("&lt;b&gt;mallory&lt;/b&gt;"),
        "{}",
        mail.html
    );
    assert!(!mail.html.contains("<b>mallory"));
    assert_eq!(
        crate::i18n::functions::escape_html(r#"a&b<c>"d'"#),
        "a&amp;b&lt;c&gt;&quot;d&#39;"
    );
}
