//! Anomaly detection from Python: the mode switch, and the Python stack and warnings the
//! engine reports failing nodes with.

use pyo3::prelude::*;

use crate::autograd::anomaly;

/// The Python call stack, as `traceback.format_stack()` prints it.
fn read_stack() -> Option<String> {
    Python::attach(|py| {
        let frames = py
            .import("traceback")
            .ok()?
            .call_method0("format_stack")
            .ok()?;
        let frames: Vec<String> = frames.extract().ok()?;
        Some(frames.concat())
    })
}

fn warn(message: &str) {
    Python::attach(|py| {
        let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
        if let Ok(text) = std::ffi::CString::new(message) {
            // A warning turned into an error by a filter is reported, not raised: the
            // backward error that follows is the one the caller sees.
            if let Err(err) = PyErr::warn(py, &category, &text, 1) {
                err.write_unraisable(py, None);
            }
        }
    });
}

/// Turns anomaly detection on or off (`torch.autograd.set_detect_anomaly`).
#[pyfunction]
#[pyo3(signature = (mode, check_nan = true))]
fn _set_detect_anomaly(mode: bool, check_nan: bool) {
    anomaly::set_detect_anomaly(mode, check_nan);
}

/// Whether anomaly detection is on.
#[pyfunction]
fn is_anomaly_enabled() -> bool {
    anomaly::is_anomaly_enabled()
}

/// Whether anomaly detection checks backward's gradients for NaN.
#[pyfunction]
fn is_anomaly_check_nan_enabled() -> bool {
    anomaly::is_anomaly_check_nan_enabled()
}

/// Registers this file's functions on the module and installs the reporters.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    anomaly::set_reporters(read_stack, warn);
    m.add_function(wrap_pyfunction!(_set_detect_anomaly, m)?)?;
    m.add_function(wrap_pyfunction!(is_anomaly_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(is_anomaly_check_nan_enabled, m)?)
}
