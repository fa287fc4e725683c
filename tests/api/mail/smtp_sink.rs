//! A real SMTP server for the tests, on 127.0.0.1: it speaks enough ESMTP for lettre
//! (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it accepts, and can
//! be told to refuse mail (`451`) or to stall (accept connections and never answer).
//! [`ReceivedMail`] decodes the MIME message lettre sends (multipart/alternative,
//! 7bit, quoted-printable or base64 parts) so tests read the links a user would click.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long a test waits for the mail worker before failing.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// Answers `451 4.3.0` to `MAIL FROM` (a server that is up but refuses for now).
    Refuse,
    /// Accepts connections and never says a word.
    Stall,
}

struct Shared {
    mode: Mutex<Mode>,
    mails: Mutex<Vec<ReceivedMail>>,
    open_connections: AtomicUsize,
}

/// A running sink; it stops accepting when dropped.
pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// A port nothing listens on (for "the SMTP server is down"), free to bind later.
pub async fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    listener.local_addr().expect("an address").port()
}

impl SmtpSink {
    pub async fn start(mode: Mode) -> SmtpSink {
        SmtpSink::start_on(0, mode).await
    }

    pub async fn start_on(port: u16, mode: Mode) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the SMTP sink binds");
        let port = listener.local_addr().expect("an address").port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            mails: Mutex::new(Vec::new()),
            open_connections: AtomicUsize::new(0),
        });
        let accepting = shared.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accepting.clone();
                tokio::spawn(async move {
                    shared.open_connections.fetch_add(1, Ordering::SeqCst);
                    let _ = converse(stream, &shared).await;
                    shared.open_connections.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        SmtpSink {
            port,
            shared,
            acceptor,
        }
    }

    /// `SMTP_URL` for this sink (plain SMTP on localhost).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    pub fn open_connections(&self) -> usize {
        self.shared.open_connections.load(Ordering::SeqCst)
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.shared.mails.lock().unwrap().clone()
    }

    /// Mails to `address` whose subject contains `subject`, in arrival order.
    pub fn mails_to(&self, address: &str, subject: &str) -> Vec<ReceivedMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.is_to(address) && m.subject().contains(subject))
            .collect()
    }

    /// Waits (boundedly) until `count` mails to `address` with `subject` have arrived.
    #[track_caller]
    pub fn wait_for(
        &self,
        address: &str,
        subject: &str,
        count: usize,
    ) -> impl Future<Output = Vec<ReceivedMail>> + '_ {
        let caller = std::panic::Location::caller();
        let address = address.to_owned();
        let subject = subject.to_owned();
        async move {
            let deadline = Instant::now() + DELIVERY_TIMEOUT;
            loop {
                let found = self.mails_to(&address, &subject);
                if found.len() >= count {
                    return found;
                }
                assert!(
                    Instant::now() < deadline,
                    "{caller}: {} of {count} mails {subject:?} to {address} arrived within {DELIVERY_TIMEOUT:?}; all mail: {:?}",
                    found.len(),
                    self.mails()
                        .iter()
                        .map(|m| (m.recipients.clone(), m.subject()))
                        .collect::<Vec<_>>()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Waits (boundedly) until no connection is open, e.g. after a client went away.
    pub async fn wait_until_idle(&self) {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        while self.open_connections() > 0 {
            assert!(Instant::now() < deadline, "a connection stayed open");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn reply(writer: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    writer.write_all(text.as_bytes()).await?;
    writer.write_all(b"\r\n").await?;
    writer.flush().await
}

async fn converse(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mode = *shared.mode.lock().unwrap();
    if mode == Mode::Stall {
        // Hold the connection without a greeting until the client gives up.
        let mut buffer = [0u8; 256];
        let (mut reader, _writer) = stream.into_split();
        loop {
            use tokio::io::AsyncReadExt;
            if reader.read(&mut buffer).await? == 0 {
                return Ok(());
            }
        }
    }
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    reply(&mut writer, "220 sink.test ESMTP ready").await?;
    let mut envelope_from = String::new();
    let mut recipients = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => reply(&mut writer, "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8").await?,
            "HELO" => reply(&mut writer, "250 sink.test").await?,
            "MAIL" => {
                if *shared.mode.lock().unwrap() == Mode::Refuse {
                    reply(&mut writer, "451 4.3.0 try again later").await?;
                } else {
                    envelope_from = angle_address(&command);
                    recipients.clear();
                    reply(&mut writer, "250 2.1.0 ok").await?;
                }
            }
            "RCPT" => {
                recipients.push(angle_address(&command));
                reply(&mut writer, "250 2.1.5 ok").await?;
            }
            "DATA" => {
                reply(&mut writer, "354 end with <CRLF>.<CRLF>").await?;
                let mut raw = String::new();
                loop {
                    let mut data_line = String::new();
                    if lines.read_line(&mut data_line).await? == 0 {
                        return Ok(());
                    }
                    if data_line == ".\r\n" || data_line == ".\n" {
                        break;
                    }
                    let unstuffed = data_line.strip_prefix('.').unwrap_or(&data_line);
                    raw.push_str(unstuffed);
                }
                shared.mails.lock().unwrap().push(ReceivedMail {
                    envelope_from: envelope_from.clone(),
                    recipients: std::mem::take(&mut recipients),
                    raw,
                });
                reply(&mut writer, "250 2.0.0 queued").await?;
            }
            "RSET" => {
                recipients.clear();
                reply(&mut writer, "250 2.0.0 ok").await?;
            }
            "NOOP" => reply(&mut writer, "250 2.0.0 ok").await?,
            "QUIT" => {
                reply(&mut writer, "221 2.0.0 bye").await?;
                return Ok(());
            }
            _ => reply(&mut writer, "502 5.5.2 command not recognised").await?,
        }
    }
}

fn angle_address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub envelope_from: String,
    pub recipients: Vec<String>,
    /// The message as sent (headers and MIME body, CRLF line ends).
    pub raw: String,
}

/// A MIME entity: unfolded headers (lower-cased names) and its body.
struct Entity {
    headers: Vec<(String, String)>,
    body: String,
}

impl Entity {
    fn parse(raw: &str) -> Entity {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        Entity {
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("text/plain")
            .to_ascii_lowercase()
    }

    fn decoded_body(&self) -> String {
        let encoding = self
            .header("content-transfer-encoding")
            .unwrap_or("7bit")
            .to_ascii_lowercase();
        match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(&self.body),
            "base64" => {
                let compact: String = self.body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("a base64 part");
                String::from_utf8(bytes).expect("a UTF-8 part")
            }
            _ => self.body.clone(),
        }
    }

    /// The leaf parts of a (possibly nested) multipart entity.
    fn leaves(self) -> Vec<Entity> {
        let content_type = self.header("content-type").unwrap_or("").to_owned();
        let Some(boundary) = boundary(&content_type) else {
            return vec![self];
        };
        let delimiter = format!("--{boundary}");
        self.body
            .split(&delimiter)
            .skip(1)
            .take_while(|part| !part.starts_with("--"))
            .map(|part| part.strip_prefix("\r\n").unwrap_or(part))
            .map(|part| part.strip_suffix("\r\n").unwrap_or(part))
            .flat_map(|part| Entity::parse(part).leaves())
            .collect()
    }
}

fn boundary(content_type: &str) -> Option<String> {
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    let start = content_type.to_ascii_lowercase().find("boundary=")? + "boundary=".len();
    let value = &content_type[start..];
    let value = value.split(';').next().unwrap_or(value).trim();
    Some(value.trim_matches('"').to_owned())
}

fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("a UTF-8 quoted-printable part")
}

impl ReceivedMail {
    fn entity(&self) -> Entity {
        Entity::parse(&self.raw)
    }

    pub fn is_to(&self, address: &str) -> bool {
        self.recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(address))
    }

    /// A top-level header (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        self.entity()
            .header(&name.to_ascii_lowercase())
            .map(str::to_owned)
    }

    pub fn subject(&self) -> String {
        self.header("subject").unwrap_or_default()
    }

    fn part(&self, content_type: &str) -> String {
        self.entity()
            .leaves()
            .into_iter()
            .find(|part| part.content_type().starts_with(content_type))
            .map(|part| part.decoded_body())
            .unwrap_or_else(|| panic!("no {content_type} part in {}", self.raw))
    }

    /// The decoded `text/plain` part.
    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    /// The decoded `text/html` part.
    pub fn html(&self) -> String {
        self.part("text/html")
    }

    /// Every http(s) URL in the text and HTML parts.
    pub fn links(&self) -> Vec<String> {
        let mut links = Vec::new();
        for body in [self.text(), self.html()] {
            let mut rest = body.as_str();
            while let Some(start) = rest.find("http") {
                let candidate = &rest[start..];
                let end = candidate
                    .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\''))
                    .unwrap_or(candidate.len());
                let url = &candidate[..end];
                if url.starts_with("http://") || url.starts_with("https://") {
                    links.push(url.to_owned());
                }
                rest = &candidate[end.max(4)..];
            }
        }
        links
    }

    /// The token of the link in the text part (the same link is in the HTML part).
    #[track_caller]
    pub fn token(&self) -> String {
        let tokens: Vec<String> = self
            .links()
            .iter()
            .filter_map(|link| link.split_once("?token=").map(|(_, t)| t.to_owned()))
            .collect();
        let token = tokens
            .first()
            .unwrap_or_else(|| panic!("no link with a token in {}", self.text()))
            .clone();
        assert!(
            tokens.iter().all(|t| *t == token),
            "the text and HTML links differ: {tokens:?}"
        );
        token
    }
}
