#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wemixvisor_fuzz::manifest(data));
