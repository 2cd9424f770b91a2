//! Keys and encrypted media. For now: the instance master key and the keys derived from it.

pub mod master_key;
