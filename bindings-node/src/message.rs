//! JavaScript values → the core's [`Value`], the one conversion: the core reads Nodemailer's
//! mail object (`polymailer::fields`), check options and DKIM settings from it. Plus the
//! address, MIME-type and `data:` URI helpers index.js calls.

use napi::bindgen_prelude::{Array, Buffer, BufferSlice, JsObjectValue, Object};
use napi::{JsValue, Unknown, ValueType};
use napi_derive::napi;
use polymailer::fields::{self, Dialect};
use polymailer::{Outgoing, Value};

/// Objects nested deeper than this are not followed (a mail object is a few levels deep; a
/// cycle must not recurse forever).
const MAX_DEPTH: usize = 16;

/// A JavaScript value as the core's [`Value`]: Buffers as bytes, arrays as lists, plain objects
/// as maps (own enumerable keys in order); functions and symbols as null.
pub fn value(v: Unknown<'_>) -> napi::Result<Value> {
    convert(v, 0)
}

fn convert(v: Unknown<'_>, depth: usize) -> napi::Result<Value> {
    // SAFETY (each cast): the value's type was checked first.
    Ok(match v.get_type()? {
        ValueType::Boolean => Value::Bool(unsafe { v.cast::<bool>() }?),
        ValueType::Number => Value::Number(unsafe { v.cast::<f64>() }?),
        ValueType::String => Value::Text(unsafe { v.cast::<String>() }?),
        ValueType::Object if depth >= MAX_DEPTH => Value::Null,
        ValueType::Object if v.is_buffer()? => Value::Bytes(unsafe { v.cast::<BufferSlice>() }?.to_vec()),
        ValueType::Object if v.is_array()? => {
            let a = unsafe { v.cast::<Array>() }?;
            let items = (0..a.len()).map(|i| convert(a.get_element::<Unknown>(i)?, depth + 1));
            Value::List(items.collect::<napi::Result<_>>()?)
        }
        ValueType::Object => {
            let o = unsafe { v.cast::<Object>() }?;
            let mut map = Vec::new();
            for key in Object::keys(&o)? {
                let item = convert(o.get_named_property::<Unknown>(&key)?, depth + 1)?;
                map.push((key, item));
            }
            Value::Map(map)
        }
        _ => Value::Null,
    })
}

/// Only `keys` of an object (the rest is not looked at); not an object: no keys.
pub fn value_of_keys(v: Unknown<'_>, keys: &[&str]) -> napi::Result<Value> {
    if v.get_type()? != ValueType::Object {
        return Ok(Value::Map(Vec::new()));
    }
    let o = unsafe { v.cast::<Object>() }?; // SAFETY: an object
    let mut map = Vec::new();
    for key in keys {
        map.push((key.to_string(), convert(o.get_named_property::<Unknown>(key)?, 1)?));
    }
    Ok(Value::Map(map))
}

/// Nodemailer's mail object (after index.js read its streams and URLs) as what to send.
pub fn outgoing(mail: Unknown<'_>) -> napi::Result<polymailer::Result<Outgoing>> {
    Ok(fields::outgoing(&value(mail)?, Dialect::Nodemailer))
}

/// A `data:` URI's bytes and type, or the error fields when it is not one.
#[napi(object)]
pub struct DataUri {
    pub content: Option<Buffer>,
    pub content_type: Option<String>,
    pub error: Option<crate::errors::ErrorFields>,
}

/// The MIME type the core gives a file name (`application/octet-stream` when unknown).
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn mime_type(filename: String) -> String {
    polymailer::message::guess_content_type(&filename).to_string()
}

/// One mailbox of a parsed address list.
#[napi(object)]
pub struct ParsedAddress {
    pub name: String,
    pub address: String,
}

/// An address list parsed by the core's rule (`"Doe, J" <j@x>, k@y`): exactly one of `list`
/// and `error` is set.
#[napi(object)]
pub struct ParsedAddresses {
    pub list: Option<Vec<ParsedAddress>>,
    pub error: Option<crate::errors::ErrorFields>,
}

/// Parses a header-style address list (jsonTransport shows addresses as `{name, address}`).
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn parse_address_list(value: String) -> ParsedAddresses {
    match polymailer::address::parse_list(&value) {
        Ok(list) => ParsedAddresses {
            list: Some(
                list.into_iter()
                    .map(|m| ParsedAddress {
                        name: m.name.unwrap_or_default(),
                        address: m.address,
                    })
                    .collect(),
            ),
            error: None,
        },
        Err(e) => ParsedAddresses {
            list: None,
            error: Some(crate::errors::fields(&e)),
        },
    }
}

/// Reads a `data:` URI by the core's rule (for attachment `path`s and `{ path }` bodies).
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn parse_data_uri(uri: String) -> DataUri {
    match polymailer::message::parse_data_uri(&uri) {
        Ok((bytes, content_type)) => DataUri {
            content: Some(bytes.into()),
            content_type,
            error: None,
        },
        Err(e) => DataUri {
            content: None,
            content_type: None,
            error: Some(crate::errors::fields(&e)),
        },
    }
}
