//! The codec between our Rust types and plain JS objects, such as
//! `{"type": "queued", "pending": 2}`, written by hand.
//!
//! The page, the worker and IndexedDB pass plain objects around:
//! `postMessage` and IndexedDB copy them (the structured clone algorithm), and
//! a `fetch` body is their JSON. serde and serde_json could convert them, but
//! in the `.wasm` that costs more than the app's own code does (a JSON parser,
//! float formatting, serde's buffering of `type`-tagged enums), and the
//! `.wasm` is what a browser must download and compile before the worker's
//! first handler can run.
//!
//! So this file holds the codec's parts: the [`Plain`] trait (a type that has
//! a plain-object form), the [`Value`] trait (what the codec needs of a
//! JSON-shaped value: `JsValue` in the browser, `serde_json::Value` in the
//! tests) and the helpers that read one field and say which one is wrong.
//! Each type lists its own fields, once, in an `impl Plain` beside it
//! (`article.rs`, `message.rs`, `outbox.rs`, `push_payload.rs`), the way a
//! serde derive would sit there; the tests beside each check that these are
//! exactly the shapes the server's serde derives read and write.

/// What the conversions need of a JSON-shaped value.
pub trait Value: Sized {
    /// Field `key` of an object; `None` when it is absent, `null` or
    /// `undefined` — the three mean the same to us.
    fn field(&self, key: &str) -> Option<Self>;
    fn as_text(&self) -> Option<String>;
    fn as_number(&self) -> Option<f64>;
    fn as_items(&self) -> Option<Vec<Self>>;
    fn text(text: &str) -> Self;
    fn number(number: f64) -> Self;
    fn items(items: Vec<Self>) -> Self;
    fn object(fields: Vec<(&'static str, Self)>) -> Self;
}

/// A type that has a plain-object form.
pub trait Plain: Sized {
    fn to_plain<V: Value>(&self) -> V;
    /// Fails with a message that names the field that is wrong.
    fn from_plain<V: Value>(value: &V) -> Result<Self, String>;
}

/// Field `key`, a string.
pub(crate) fn text<V: Value>(value: &V, key: &str) -> Result<String, String> {
    optional_text(value, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

/// Field `key`, a string, or `None` when it is absent.
pub(crate) fn optional_text<V: Value>(value: &V, key: &str) -> Result<Option<String>, String> {
    value
        .field(key)
        .map(|field| {
            field
                .as_text()
                .ok_or_else(|| format!("`{key}` is not a string"))
        })
        .transpose()
}

/// Field `key`, a number.
pub(crate) fn number<V: Value>(value: &V, key: &str) -> Result<f64, String> {
    value
        .field(key)
        .ok_or_else(|| format!("`{key}` is missing"))?
        .as_number()
        .ok_or_else(|| format!("`{key}` is not a number"))
}

/// A count: a whole number ≥ 0.
pub(crate) fn count<V: Value>(value: &V, key: &str) -> Result<usize, String> {
    let number = number(value, key)?;
    // Not formatted into the message: `f64`'s `Display` alone would add
    // 16 kB to the `.wasm`.
    if number < 0.0 || number.fract() != 0.0 {
        return Err(format!("`{key}` is not a whole number ≥ 0"));
    }
    Ok(number as usize)
}

/// Field `key`, itself a plain object of type `T`.
pub(crate) fn nested<T: Plain, V: Value>(value: &V, key: &str) -> Result<T, String> {
    let field = value
        .field(key)
        .ok_or_else(|| format!("`{key}` is missing"))?;
    T::from_plain(&field).map_err(|error| format!("in `{key}`: {error}"))
}

/// The `type` of a message: the enum's variant, in kebab-case.
pub(crate) fn message_type<V: Value>(value: &V) -> Result<String, String> {
    text(value, "type")
}

/// The error for a `type` that no variant of `kind` has.
pub(crate) fn unknown(kind: &str, message_type: &str) -> String {
    // Quoted by hand: `{:?}` would bring `str`'s escaping code and Unicode
    // tables into the `.wasm` for this one message.
    format!("unknown {kind} type \"{message_type}\"")
}

impl<T: Plain> Plain for Vec<T> {
    fn to_plain<V: Value>(&self) -> V {
        V::items(self.iter().map(T::to_plain).collect())
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        let items = value.as_items().ok_or("not an array")?;
        items
            .iter()
            .enumerate()
            .map(|(index, item)| T::from_plain(item).map_err(|e| format!("item {index}: {e}")))
            .collect()
    }
}

#[cfg(target_arch = "wasm32")]
mod js {
    use js_sys::{Array, Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    impl super::Value for JsValue {
        fn field(&self, key: &str) -> Option<Self> {
            // `Reflect.get` throws on a non-object (a string, a number).
            Reflect::get(self, &JsValue::from_str(key))
                .ok()
                .filter(|field| !field.is_undefined() && !field.is_null())
        }

        fn as_text(&self) -> Option<String> {
            self.as_string()
        }

        fn as_number(&self) -> Option<f64> {
            self.as_f64()
        }

        fn as_items(&self) -> Option<Vec<Self>> {
            self.dyn_ref::<Array>().map(|array| array.iter().collect())
        }

        fn text(text: &str) -> Self {
            JsValue::from_str(text)
        }

        fn number(number: f64) -> Self {
            JsValue::from_f64(number)
        }

        fn items(items: Vec<Self>) -> Self {
            items.into_iter().collect::<Array>().into()
        }

        fn object(fields: Vec<(&'static str, Self)>) -> Self {
            let object = Object::new();
            for (key, value) in fields {
                // Cannot fail: `object` is a fresh, extensible plain object.
                let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
            }
            object.into()
        }
    }
}

/// The tests' stand-in for `JsValue`.
#[cfg(test)]
impl Value for serde_json::Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|field| !field.is_null()).cloned()
    }
    fn as_text(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn as_number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn as_items(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
    fn text(text: &str) -> Self {
        serde_json::Value::from(text)
    }
    fn number(number: f64) -> Self {
        // JSON has one number type; write whole numbers as integers, as
        // JavaScript's `JSON.stringify` does.
        if number.fract() == 0.0 && number.abs() < 9e15 {
            serde_json::Value::from(number as i64)
        } else {
            serde_json::Value::from(number)
        }
    }
    fn items(items: Vec<Self>) -> Self {
        serde_json::Value::Array(items)
    }
    fn object(fields: Vec<(&'static str, Self)>) -> Self {
        serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }
}

/// What the tests beside each `impl Plain` check it with.
#[cfg(test)]
pub(crate) mod shapes {
    use proptest::prelude::Strategy;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value as Json;

    use super::Plain;

    /// The hand-written shape and serde's agree, both ways.
    pub(crate) fn agrees_with_serde<T>(value: &T)
    where
        T: Plain + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let by_serde = serde_json::to_value(value).unwrap();
        assert_eq!(value.to_plain::<Json>(), by_serde);
        assert_eq!(&T::from_plain(&by_serde).unwrap(), value);
    }

    /// `value` has the plain-object form `shape`, and reads back from it.
    pub(crate) fn round_trip<T: Plain + PartialEq + std::fmt::Debug>(value: T, shape: Json) {
        assert_eq!(value.to_plain::<Json>(), shape);
        assert_eq!(T::from_plain(&shape).unwrap(), value);
    }

    /// Short text with the characters JSON escapes, markup and non-ASCII.
    pub(crate) fn any_text() -> impl Strategy<Value = String> {
        "[a-z <>\"\\\\é\n]{0,12}"
    }
}
