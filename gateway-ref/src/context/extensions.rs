//! The values policies hand from one stage of a request to a later one (the authorizer's
//! verdict to `before_backend`, the breaker's probe to `on_response`, …): a map from a value's
//! type to the value. A request carries a handful at most, so a short list is searched instead of
//! hashing — and nothing is allocated until a policy stores something.

use std::any::Any;
use std::fmt;

/// Values keyed by their type, one per type.
#[derive(Default)]
pub struct Extensions(Vec<Box<dyn Any + Send + Sync>>);

impl Extensions {
    /// Stores `value`, returning the value of the same type it replaces.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) -> Option<T> {
        if let Some(old) = self.get_mut::<T>() {
            return Some(std::mem::replace(old, value));
        }
        self.0.push(Box::new(value));
        None
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.iter().find_map(|v| v.downcast_ref::<T>())
    }

    /// The value of type `T`, mutable, if one was stored.
    pub fn get_mut<T: Any + Send + Sync>(&mut self) -> Option<&mut T> {
        self.0.iter_mut().find_map(|v| v.downcast_mut::<T>())
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions").field("len", &self.0.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Probe;

    #[test]
    fn one_value_per_type() {
        let mut ext = Extensions::default();
        assert_eq!(ext.get::<u32>(), None);
        assert_eq!(ext.insert(1_u32), None);
        assert_eq!(ext.insert("text"), None);
        assert_eq!(ext.insert(Probe), None);
        assert_eq!(ext.insert(2_u32), Some(1));
        assert_eq!(ext.get::<u32>(), Some(&2));
        assert_eq!(ext.get::<&str>(), Some(&"text"));
        assert_eq!(ext.get::<Probe>(), Some(&Probe));
        assert_eq!(ext.get::<u64>(), None);
        if let Some(v) = ext.get_mut::<u32>() {
            *v += 1;
        }
        assert_eq!(ext.get::<u32>(), Some(&3));
        assert_eq!(format!("{ext:?}"), "Extensions { len: 3 }");
    }
}
