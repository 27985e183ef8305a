//! ukey-host: the PC/SC driver for ukey tokens.
