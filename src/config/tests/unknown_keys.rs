//! An unknown key injected into every table of the example config is caught and located.

use super::*;
