//! One test per problem class `load` must catch, each checking the key and line reported.

use super::*;
