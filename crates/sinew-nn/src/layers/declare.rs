//! A layer configuration declared once. [`declare_layer!`] takes the Keras class name and the
//! arguments (required ones in `new(..)`, optional ones with their Keras defaults) and writes:
//! the struct, `new`, one setter per optional argument, the argument table in the struct's doc,
//! `args()` (the config JSON), and [`Declared`]: the signature `layer_from_args` checks a spec
//! against, and `from_args`, which `layer_from_config` uses. A registry line in `layers/mod.rs`
//! (`declared::<T>()`) makes the class loadable and declarable.
//!
//! Each argument's type says how it is written and read back ([`ArgValue`]), so the config, the
//! loader and the command line cannot disagree about a name, a default or a type.

use crate::activation::{activation_config, activation_from_config, Activation};
use crate::error::{Error, ErrorKind, Result};
use crate::initializers::Initializer;
use crate::layer::LayerConfig;
use serde_json::{json, Value};

/// A value a layer argument can take: how it is written into a config and read back.
pub trait ArgValue: Sized {
    fn to_json(&self) -> Value;
    /// The value, or what was expected ("must be a number") for the error message.
    fn from_json(v: &Value) -> std::result::Result<Self, String>;
}

impl ArgValue for f64 {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        v.as_f64().ok_or_else(|| "must be a number".into())
    }
}

impl ArgValue for usize {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        v.as_u64().map(|u| u as usize).ok_or_else(|| "must be a non-negative integer".into())
    }
}

impl ArgValue for isize {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        v.as_i64().map(|u| u as isize).ok_or_else(|| "must be an integer".into())
    }
}

impl ArgValue for bool {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        v.as_bool().ok_or_else(|| "must be true or false".into())
    }
}

impl ArgValue for String {
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        v.as_str().map(str::to_string).ok_or_else(|| "must be a string".into())
    }
}

impl<T: ArgValue> ArgValue for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(ArgValue::to_json).collect())
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        let items = v.as_array().ok_or_else(|| "must be a list".to_string())?;
        items.iter().map(|x| T::from_json(x).map_err(|e| format!("must be a list whose items {e}"))).collect()
    }
}

/// A fixed-length list (`size: [usize; 2]`, `padding: [[usize; 2]; 2]`).
impl<T: ArgValue, const N: usize> ArgValue for [T; N] {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(ArgValue::to_json).collect())
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        let items = v.as_array().filter(|a| a.len() == N).ok_or_else(|| format!("must be a list of {N}"))?;
        let parsed: Vec<T> = items
            .iter()
            .map(|x| T::from_json(x).map_err(|e| format!("must be a list of {N} whose items {e}")))
            .collect::<std::result::Result<_, _>>()?;
        parsed.try_into().map_err(|_| format!("must be a list of {N}"))
    }
}

/// `None` is written as `null` (Keras `max_value=None`).
impl<T: ArgValue> ArgValue for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ArgValue::to_json)
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        if v.is_null() {
            Ok(None)
        } else {
            T::from_json(v).map(Some).map_err(|e| format!("{e} or null"))
        }
    }
}

impl ArgValue for Activation {
    fn to_json(&self) -> Value {
        activation_config(self)
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        activation_from_config(v).map_err(|e| e.message)
    }
}

impl ArgValue for Initializer {
    fn to_json(&self) -> Value {
        self.config()
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        Initializer::from_config(v).map_err(|e| e.message)
    }
}

/// What a constructor or setter of a declared layer accepts for an argument of type `T`: the
/// value itself, a bare value for an `Option` (`.max_value(6.0)`), or an array or slice for a
/// list (`&[2, 2]`). Unlike `Into`, it lets integer literals infer (`RepeatVector::new(3)`).
pub trait ArgInto<T> {
    fn arg_into(self) -> T;
}

impl<T> ArgInto<T> for T {
    fn arg_into(self) -> T {
        self
    }
}

impl<T> ArgInto<Option<T>> for T {
    fn arg_into(self) -> Option<T> {
        Some(self)
    }
}

impl<T: Clone> ArgInto<Vec<T>> for &[T] {
    fn arg_into(self) -> Vec<T> {
        self.to_vec()
    }
}

impl<T: Clone, const N: usize> ArgInto<Vec<T>> for [T; N] {
    fn arg_into(self) -> Vec<T> {
        self.to_vec()
    }
}

impl<T: Clone, const N: usize> ArgInto<Vec<T>> for &[T; N] {
    fn arg_into(self) -> Vec<T> {
        self.to_vec()
    }
}

impl ArgInto<String> for &str {
    fn arg_into(self) -> String {
        self.to_string()
    }
}

/// One size for every spatial axis (`.pool_size(3)`).
impl ArgInto<Vec<usize>> for usize {
    fn arg_into(self) -> Vec<usize> {
        vec![self]
    }
}

impl ArgInto<Option<Vec<usize>>> for usize {
    fn arg_into(self) -> Option<Vec<usize>> {
        Some(vec![self])
    }
}

impl<T: Clone> ArgInto<Option<Vec<T>>> for &[T] {
    fn arg_into(self) -> Option<Vec<T>> {
        Some(self.to_vec())
    }
}

impl<T: Clone, const N: usize> ArgInto<Option<Vec<T>>> for [T; N] {
    fn arg_into(self) -> Option<Vec<T>> {
        Some(self.to_vec())
    }
}

impl<T: Clone, const N: usize> ArgInto<Option<Vec<T>>> for &[T; N] {
    fn arg_into(self) -> Option<Vec<T>> {
        Some(self.to_vec())
    }
}

impl ArgValue for crate::regularizers::Regularizer {
    fn to_json(&self) -> Value {
        self.config()
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        Self::from_config(v).map_err(|e| e.message)
    }
}

impl ArgValue for crate::regularizers::Constraint {
    fn to_json(&self) -> Value {
        self.config()
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        Self::from_config(v).map_err(|e| e.message)
    }
}

impl ArgValue for super::conv::Padding {
    fn to_json(&self) -> Value {
        json!(self.name())
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        let name = v.as_str().ok_or_else(|| "must be a string".to_string())?;
        Self::from_name(name).map_err(|e| e.message)
    }
}

/// One argument of a layer's signature: its Keras name and default (`None`: required).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: &'static str,
    pub default: Option<Value>,
}

/// A layer configuration written by [`declare_layer!`].
pub trait Declared: Sized {
    /// The Keras class name.
    const CLASS: &'static str;
    /// Every argument with its default, in declaration order (`name` is implied).
    fn signature() -> Vec<Arg>;
    /// The arguments as Keras config JSON (without `class_name` and `name`).
    fn args(&self) -> Value;
    /// Reads a config: missing optional arguments take their defaults, a missing required one
    /// or a value of the wrong type is an error naming the class, the argument and the value.
    fn from_args(v: &Value) -> Result<Self>;
}

/// Reads argument `key` of `class` from config `v`: the default when absent, else the value.
pub fn read_arg<T: ArgValue>(class: &str, v: &Value, key: &str, default: Option<T>) -> Result<T> {
    match (v.get(key), default) {
        (None, Some(d)) => Ok(d),
        (None, None) => {
            Err(Error::new(ErrorKind::Mismatch, format!("{class}: missing required argument {key:?}")).about(key, None))
        }
        (Some(x), _) => T::from_json(x).map_err(|e| {
            Error::new(ErrorKind::InvalidArgument, format!("{class}: {key} {e}, got {x}"))
                .about(key, Some(x.to_string()))
        }),
    }
}

/// One entry per spatial axis from a per-axis argument: a single value stands for every axis
/// (Keras `kernel_size=3`, `pool_size=2`).
pub(crate) fn per_axis(v: &[usize], rank: usize) -> Vec<usize> {
    if v.len() == 1 {
        vec![v[0]; rank]
    } else {
        v.to_vec()
    }
}

/// A built layer's config: its configuration's arguments with the class and layer names.
pub fn named_config(mut args: Value, class: &str, name: &str) -> Value {
    args["class_name"] = json!(class);
    args["name"] = json!(name);
    args
}

/// What the registry keeps of a class: its signature and how to rebuild it from a config.
pub(crate) struct Registered {
    pub(crate) class: &'static str,
    pub(crate) signature: fn() -> Vec<Arg>,
    pub(crate) from_config: fn(&Value) -> Result<Box<dyn LayerConfig>>,
}

/// The registry entry of a declared layer.
pub(crate) fn declared<C: Declared + LayerConfig + Named + 'static>() -> Registered {
    Registered {
        class: C::CLASS,
        signature: C::signature,
        from_config: |v| {
            let name = v.get("name").and_then(Value::as_str).map(str::to_string);
            Ok(Box::new(C::from_args(v)?.with_name(name)))
        },
    }
}

/// A configuration whose layer name can be set (every declared layer).
pub trait Named {
    fn with_name(self, name: Option<String>) -> Self;
}

/// Declares a layer configuration once; see the module doc.
///
/// ```ignore
/// declare_layer! {
///     /// Keras `LeakyReLU`: ...
///     pub struct LeakyReLU("LeakyReLU") {
///         new(),
///         /// Slope for negative inputs.
///         negative_slope: f64 = 0.3,
///     }
/// }
/// ```
macro_rules! declare_layer {
    (
        $(#[$m:meta])*
        pub struct $cfg:ident($class:literal) {
            new($($req:ident : $rty:ty),* $(,)?),
            $($(#[$om:meta])* $opt:ident : $oty:ty = $def:expr),* $(,)?
        }
    ) => {
        $(#[$m])*
        ///
        /// | argument | type | default |
        /// |---|---|---|
        $(#[doc = concat!("| `", stringify!($req), "` | `", stringify!($rty), "` | required |")])*
        $(#[doc = concat!("| `", stringify!($opt), "` | `", stringify!($oty), "` | `", stringify!($def), "` |")])*
        #[derive(Clone, Debug)]
        pub struct $cfg {
            $(pub(crate) $req: $rty,)*
            $(pub(crate) $opt: $oty,)*
            pub(crate) name: Option<String>,
        }

        impl $cfg {
            /// The layer with its required arguments; the others take Keras' defaults.
            #[allow(clippy::new_without_default)]
            pub fn new($($req: impl $crate::layers::declare::ArgInto<$rty>),*) -> Self {
                $cfg {
                    $($req: $crate::layers::declare::ArgInto::arg_into($req),)*
                    $($opt: { let d: $oty = $def; d },)*
                    name: None,
                }
            }
            $(
                $(#[$om])*
                pub fn $opt(mut self, value: impl $crate::layers::declare::ArgInto<$oty>) -> Self {
                    self.$opt = $crate::layers::declare::ArgInto::arg_into(value);
                    self
                }
            )*
            /// The arguments as config JSON.
            fn args(&self) -> serde_json::Value {
                <Self as $crate::layers::declare::Declared>::args(self)
            }
        }

        impl $cfg {
            /// Sets the layer name (`None` lets the model pick `class_name`, `class_name_1`, ...).
            pub fn with_name(mut self, name: Option<String>) -> Self {
                self.name = name;
                self
            }
            /// Sets the layer name.
            pub fn name(self, name: impl Into<String>) -> Self {
                self.with_name(Some(name.into()))
            }
        }

        impl $crate::layers::declare::Named for $cfg {
            fn with_name(self, name: Option<String>) -> Self {
                $cfg::with_name(self, name)
            }
        }

        impl $crate::layers::declare::Declared for $cfg {
            const CLASS: &'static str = $class;
            fn signature() -> Vec<$crate::layers::declare::Arg> {
                #[allow(unused_imports)]
                use $crate::layers::declare::{Arg, ArgValue};
                vec![
                    $(Arg { name: stringify!($req), default: None },)*
                    $(Arg { name: stringify!($opt), default: Some({ let d: $oty = $def; d }.to_json()) },)*
                ]
            }
            fn args(&self) -> serde_json::Value {
                #[allow(unused_imports)]
                use $crate::layers::declare::ArgValue;
                #[allow(unused_mut)]
                let mut m = serde_json::Map::new();
                $(m.insert(stringify!($req).into(), self.$req.to_json());)*
                $(m.insert(stringify!($opt).into(), self.$opt.to_json());)*
                serde_json::Value::Object(m)
            }
            fn from_args(_v: &serde_json::Value) -> $crate::error::Result<Self> {
                #[allow(unused_imports)]
                use $crate::layers::declare::read_arg;
                Ok($cfg {
                    $($req: read_arg::<$rty>($class, _v, stringify!($req), None)?,)*
                    $($opt: read_arg::<$oty>($class, _v, stringify!($opt), Some($def))?,)*
                    name: None,
                })
            }
        }
    };
}
pub(crate) use declare_layer;
