//! The live cell end to end: real `borgsim` processes on loopback, random
//! ports, every wait bounded (feature `agent`).

mod common;
mod master;
