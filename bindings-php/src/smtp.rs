//! `Polymailer\Services`: the core's provider presets as PHPMailer settings.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpResult;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;

use crate::errors;

#[php_class]
#[php(name = "Polymailer\\Services")]
pub struct Services;

#[php_impl]
impl Services {
    /// A provider's settings as PHPMailer properties: `['Host' => ..., 'Port' => ...,
    /// 'SMTPSecure' => 'ssl'|'tls'|'', 'SMTPAutoTLS' => bool, 'name' => ..., 'notes' => ...]`,
    /// by name, alias, mail domain or address. Unknown: an Exception listing the known names.
    pub fn lookup(name: &str) -> PhpResult<ZBox<ZendHashTable>> {
        let s = polymailer::Service::lookup(name)
            .map_err(|e| errors::exception_with(e.message(), Some(&errors::Facts::of(&e))))?;
        let (secure, auto_tls) = s.security().to_phpmailer();
        let mut out = ZendHashTable::new();
        out.insert("Host", s.host)?;
        out.insert("Port", i64::from(s.port))?;
        out.insert("SMTPSecure", secure)?;
        out.insert("SMTPAutoTLS", auto_tls)?;
        out.insert("name", s.name)?;
        out.insert("notes", s.notes)?;
        Ok(out)
    }

    /// The known service names.
    pub fn names() -> Vec<String> {
        polymailer::Service::all().iter().map(|s| s.name.to_string()).collect()
    }
}
