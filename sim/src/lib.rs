//! ukey-sim: the ukey firmware as a virtual token.
