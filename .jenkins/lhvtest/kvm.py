"""--accel kvm: the host checks (/dev/kvm, kvm_intel's nested parameter) and
the -cpu value for nested VMX. The probe boot is in probe.py."""

import os

from .common import SetupError


# KVM: the host's /dev/kvm and the kvm_intel module's nested parameter
# (docs/kvm.md). LHV needs VMX from its L0: KVM on an AMD host offers SVM.
KVM_DEVICE = "/dev/kvm"
KVM_INTEL_NESTED = "/sys/module/kvm_intel/parameters/nested"


def check_kvm(device=None, nested=None):
    """Raises SetupError saying what to do when nested VMX under KVM cannot
    work on this host."""
    device = device or KVM_DEVICE
    nested = nested or KVM_INTEL_NESTED
    if not os.path.exists(device):
        raise SetupError("--accel kvm: %s is missing (no KVM on this host: a VM without "
                         "nested virtualization, the kvm_intel module not loaded, or no VT-x "
                         "in the firmware); run without --accel kvm for QEMU TCG, or see "
                         "docs/kvm.md" % device)
    if not os.access(device, os.R_OK | os.W_OK):
        raise SetupError("--accel kvm: no read/write access to %s (add yourself to the "
                         "kvm group, or run as root)" % device)
    try:
        with open(nested) as f:
            value = f.read().strip()
    except OSError:
        raise SetupError("--accel kvm: %s is missing: kvm_intel is not loaded (an AMD host "
                         "offers SVM, not VMX, to its guests; LHV needs an Intel host)" % nested)
    if value not in ("Y", "1"):
        raise SetupError("--accel kvm: nested VMX is off (%s is %s): "
                         "modprobe -r kvm_intel && modprobe kvm_intel nested=1 (docs/kvm.md)"
                         % (nested, value))


def kvm_cpu(model):
    """The -cpu value for nested VMX: host passthrough with VMX by default;
    a named model gets vmx=on unless it already says something about vmx."""
    if not model:
        return "host,+vmx"
    if "vmx" in model:
        return model
    return model + ",vmx=on"
