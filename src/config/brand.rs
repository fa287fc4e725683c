//! Making Roster a team's own: its name (`BRAND_NAME`), logo (`BRAND_LOGO`), colour
//! (`BRAND_COLOR`), the display name of its mail (`MAIL_FROM_NAME`) and a folder of
//! templates that replace the built-in ones (`TEMPLATES_DIR`). Everything here is checked
//! once, at start-up: a logo that is not a PNG or SVG, a colour too pale for white button
//! text or too light on the page, or a missing templates folder stops it, naming the
//! variable. (Whether the templates in the folder render is checked where they are
//! compiled, by the pages and the mail composer.)

use std::path::{Path, PathBuf};

use super::vars::{ConfigError, Vars, invalid};

/// The largest logo Roster serves (it is read into memory at start-up).
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

/// The colour buttons and links have when `BRAND_COLOR` is unset (the stylesheet's).
pub const DEFAULT_COLOR: &str = "#0550ae";

/// The page backgrounds the brand colour is shown on (light scheme): the body's and the
/// main panel's.
const PAGE_BACKGROUNDS: [(&str, [u8; 3]); 2] =
    [("#f6f7f9", [0xf6, 0xf7, 0xf9]), ("#ffffff", [0xff; 3])];

/// WCAG 2.x's minimum contrast for normal text (success criterion 1.4.3, level AA).
const MIN_CONTRAST: f64 = 4.5;

#[derive(Debug, Clone)]
pub struct BrandConfig {
    /// `BRAND_NAME` (`Roster`): page titles, mails, the issuer an authenticator app shows.
    pub name: String,
    /// `BRAND_LOGO`: the logo's bytes and content type, served at `/assets/logo`.
    pub logo: Option<Logo>,
    /// `BRAND_COLOR` as `#rrggbb` (lower case), or [`DEFAULT_COLOR`].
    pub color: String,
    /// `MAIL_FROM_NAME`: the display name of the mail's `From` (unset: the name in
    /// `MAIL_FROM`, else `BRAND_NAME`).
    pub mail_from_name: Option<String>,
    /// `TEMPLATES_DIR`: templates there (`web/…`, `mail/…`, as in the repository's
    /// `templates/`) replace the built-in ones of the same name.
    pub templates_dir: Option<PathBuf>,
    /// The templates read from `TEMPLATES_DIR` at start-up.
    pub templates: Vec<TemplateFile>,
}

/// Which templates a file of `TEMPLATES_DIR` replaces: its first folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateArea {
    /// `web/`: the pages (`web/login.html`, `web/console/frame.html`).
    Web,
    /// `mail/`: the mails (`mail/password_reset.txt`).
    Mail,
}

/// A template file of `TEMPLATES_DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    pub area: TemplateArea,
    /// Its name below the area's folder, with `/` between folders: the name of the
    /// built-in template it replaces.
    pub name: String,
    pub path: PathBuf,
    pub source: String,
}

/// The logo file, read and checked at start-up.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    pub bytes: Vec<u8>,
    /// `image/png` or `image/svg+xml`, from the file's content (not its name).
    pub content_type: &'static str,
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Logo({}, {} bytes)", self.content_type, self.bytes.len())
    }
}

impl BrandConfig {
    pub(super) fn parse(vars: &Vars) -> Result<BrandConfig, ConfigError> {
        let name = vars
            .get("BRAND_NAME")
            .unwrap_or_else(|| "Roster".to_owned());
        check_display_name("BRAND_NAME", &name)?;
        if name.contains(':') {
            return Err(invalid(
                "BRAND_NAME",
                "must not contain ':' (it separates the issuer from the account in an authenticator's otpauth URI)",
            ));
        }
        let mail_from_name = vars.get("MAIL_FROM_NAME");
        if let Some(from_name) = &mail_from_name {
            check_display_name("MAIL_FROM_NAME", from_name)?;
        }
        let logo = match vars.get("BRAND_LOGO") {
            None => None,
            Some(path) => {
                Some(read_logo(&PathBuf::from(path)).map_err(|m| invalid("BRAND_LOGO", m))?)
            }
        };
        let color = match vars.get("BRAND_COLOR") {
            None => DEFAULT_COLOR.to_owned(),
            Some(raw) => check_color(&raw).map_err(|m| invalid("BRAND_COLOR", m))?,
        };
        let templates_dir = vars.get("TEMPLATES_DIR").map(PathBuf::from);
        let templates = match &templates_dir {
            None => Vec::new(),
            Some(dir) => read_templates(dir).map_err(|m| invalid("TEMPLATES_DIR", m))?,
        };
        Ok(BrandConfig {
            name,
            logo,
            color,
            mail_from_name,
            templates_dir,
            templates,
        })
    }
}

/// The most template files `TEMPLATES_DIR` may hold, and the largest one.
const MAX_TEMPLATES: usize = 200;
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// Reads the `.html` and `.txt` files below `dir`'s `web/` and `mail/` folders.
fn read_templates(dir: &Path) -> Result<Vec<TemplateFile>, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a readable folder", dir.display()));
    }
    let mut templates = Vec::new();
    for (area, folder) in [(TemplateArea::Web, "web"), (TemplateArea::Mail, "mail")] {
        let root = dir.join(folder);
        let mut pending = vec![root.clone()];
        while let Some(folder) = pending.pop() {
            if !folder.is_dir() {
                continue;
            }
            let entries = std::fs::read_dir(&folder)
                .map_err(|e| format!("{} cannot be read: {e}", folder.display()))?;
            for entry in entries {
                let path = entry
                    .map_err(|e| format!("{} cannot be read: {e}", folder.display()))?
                    .path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let is_template = path
                    .extension()
                    .is_some_and(|ext| ext == "html" || ext == "txt");
                if !is_template {
                    continue;
                }
                if templates.len() == MAX_TEMPLATES {
                    return Err(format!("holds more than {MAX_TEMPLATES} templates"));
                }
                templates.push(read_template(area, &root, &path)?);
            }
        }
    }
    templates.sort_by(|a: &TemplateFile, b| a.path.cmp(&b.path));
    Ok(templates)
}

fn read_template(area: TemplateArea, root: &Path, path: &Path) -> Result<TemplateFile, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{} cannot be read: {e}", path.display()))?
        .len();
    if size > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "{} is {size} bytes; a template may have at most {MAX_TEMPLATE_BYTES}",
            path.display()
        ));
    }
    let source = std::fs::read_to_string(path)
        .map_err(|e| format!("{} cannot be read as UTF-8 text: {e}", path.display()))?;
    let name = path
        .strip_prefix(root)
        .map_err(|_| format!("{} is outside {}", path.display(), root.display()))?
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    Ok(TemplateFile {
        area,
        name,
        path: path.to_path_buf(),
        source,
    })
}

/// 1 to 60 characters, none of them a control or bidirectional-override character.
fn check_display_name(variable: &'static str, name: &str) -> Result<(), ConfigError> {
    if name.chars().count() > 60 {
        return Err(invalid(variable, "must be at most 60 characters"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || crate::text::is_bidi_control(c))
    {
        return Err(invalid(
            variable,
            "must not contain control or bidirectional-override characters",
        ));
    }
    Ok(())
}

/// Reads the logo: an existing file of at most [`MAX_LOGO_BYTES`] that is a PNG (by its
/// signature) or an SVG (UTF-8 text whose first element is `<svg`).
fn read_logo(path: &std::path::Path) -> Result<Logo, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{} cannot be read: {e}", path.display()))?
        .len();
    if size > MAX_LOGO_BYTES as u64 {
        return Err(format!(
            "{} is {size} bytes; a logo may have at most {MAX_LOGO_BYTES}",
            path.display()
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
    let content_type = logo_type(&bytes)
        .ok_or_else(|| format!("{} is neither a PNG nor an SVG image", path.display()))?;
    Ok(Logo {
        bytes,
        content_type,
    })
}

/// `image/png` or `image/svg+xml` when `bytes` are one.
pub fn logo_type(bytes: &[u8]) -> Option<&'static str> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(PNG_SIGNATURE) {
        return Some("image/png");
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    // Before the root element: an XML declaration, comments, a doctype.
    loop {
        if let Some(after) = rest.strip_prefix("<?xml") {
            rest = after.split_once("?>")?.1.trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->")?.1.trim_start();
        } else if let Some(after) = rest.strip_prefix("<!DOCTYPE") {
            rest = after.split_once('>')?.1.trim_start();
        } else {
            break;
        }
    }
    let root = rest.strip_prefix("<svg")?;
    root.starts_with(|c: char| c.is_whitespace() || c == '>')
        .then_some("image/svg+xml")
}

/// `#rrggbb` whose contrast with white button text and with the page's backgrounds is at
/// least 4.5:1 (WCAG 2.x); the colour in lower case.
fn check_color(raw: &str) -> Result<String, String> {
    let rgb =
        parse_hex(raw).ok_or_else(|| format!("{raw:?} is not a colour of the form #rrggbb"))?;
    let on_white = contrast(rgb, [0xff; 3]);
    if on_white < MIN_CONTRAST {
        return Err(format!(
            "{raw} has a contrast of {on_white:.2}:1 with white button text; at least {MIN_CONTRAST}:1 is needed (a darker colour)"
        ));
    }
    for (name, background) in PAGE_BACKGROUNDS {
        let ratio = contrast(rgb, background);
        if ratio < MIN_CONTRAST {
            return Err(format!(
                "{raw} has a contrast of {ratio:.2}:1 with the page background {name}; at least {MIN_CONTRAST}:1 is needed (a darker colour)"
            ));
        }
    }
    Ok(raw.to_ascii_lowercase())
}

fn parse_hex(raw: &str) -> Option<[u8; 3]> {
    let hex = raw.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG 2.x relative luminance of an sRGB colour.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// WCAG 2.x contrast ratio, from 1 to 21.
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast([0; 3], [0xff; 3]) - 21.0).abs() < 1e-9);
        assert!((contrast([0x77; 3], [0xff; 3]) - 4.48).abs() < 0.01);
        assert!(check_color("#777777").is_err(), "4.48:1 on white");
        let err = check_color("#767676").unwrap_err();
        assert!(
            err.contains("#f6f7f9"),
            "4.54:1 on white, 4.2:1 on the page: {err}"
        );
        assert!(
            check_color("#6b6b6b").is_ok(),
            "5.3:1 on white, 4.9:1 on the page"
        );
        assert_eq!(check_color("#0550AE").unwrap(), "#0550ae");
        for bad in ["0550ae", "#05ae", "#0550ag", "blue", "#0550ae0"] {
            assert!(check_color(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_logo_is_a_png_or_an_svg_by_its_content() {
        assert_eq!(
            logo_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(
            logo_type(b"<?xml version=\"1.0\"?>\n<!-- logo -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Some("image/svg+xml")
        );
        assert_eq!(logo_type(b"<svg>"), Some("image/svg+xml"));
        assert_eq!(logo_type(b"<svgx>"), None);
        assert_eq!(logo_type(b"GIF89a"), None);
        assert_eq!(logo_type(b"<html><svg></svg></html>"), None);
        assert_eq!(logo_type(b"\xff\xd8\xff\xe0"), None);
    }
}
