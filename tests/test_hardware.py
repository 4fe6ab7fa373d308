"""The precision policy follows the hardware: bfloat16 only where units run it fast."""
import pytest

from cnnlesson.hardware import cpu_features, cpu_has_fast_bfloat16, mixed_precision_policy

EPYC_AVX2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
SAPPHIRE_RAPIDS = ("processor\t: 0\nflags\t\t: fpu avx avx2 avx512f avx512_bf16 "
                   "amx_bf16 amx_tile avx512_fp16\n")
ARM = "processor\t: 0\nFeatures\t: fp asimd bf16\n"


def test_cpu_features_are_read_from_cpuinfo():
    assert cpu_features(EPYC_AVX2) == ["AVX2"]
    assert cpu_features(SAPPHIRE_RAPIDS) == ["AVX2", "AVX-512", "AVX-512 BF16", "AMX BF16",
                                             "AMX", "AVX-512 FP16"]
    assert cpu_features(ARM) == []
    assert cpu_features("") == []


@pytest.mark.parametrize("max_isa, fast", [
    ("", True), ("AVX2", False), ("avx512_core", False), ("AVX512_CORE_VNNI", False),
    ("AVX512_CORE_BF16", True), ("AVX512_CORE_AMX", True), ("ALL", True)])
def test_onednn_max_cpu_isa_caps_bfloat16(max_isa, fast):
    assert cpu_has_fast_bfloat16(cpu_features(SAPPHIRE_RAPIDS), max_isa) is fast


def test_onednn_max_cpu_isa_is_read_from_the_environment(monkeypatch):
    features = cpu_features(SAPPHIRE_RAPIDS)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not cpu_has_fast_bfloat16(features)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert cpu_has_fast_bfloat16(features)


@pytest.mark.parametrize("capability, policy", [
    ((9, 0), "mixed_bfloat16"), ((8, 0), "mixed_bfloat16"), ((7, 5), "mixed_float16"),
    ((7, 0), "mixed_float16"), ((6, 1), "float32")])
def test_gpu_policy_by_compute_capability(capability, policy):
    # a GPU decides, whatever the CPU has
    assert mixed_precision_policy(capability, features=cpu_features(EPYC_AVX2)) == policy


def test_cpu_policy(monkeypatch):
    monkeypatch.setattr("platform.system", lambda: "Linux")
    assert mixed_precision_policy(None, cpu_features(EPYC_AVX2), "") == "float32"
    assert mixed_precision_policy(None, cpu_features(SAPPHIRE_RAPIDS), "") == "mixed_bfloat16"
    assert mixed_precision_policy(None, cpu_features(SAPPHIRE_RAPIDS), "AVX2") == "float32"
    monkeypatch.setattr("platform.system", lambda: "Darwin")
    assert mixed_precision_policy(None, cpu_features(SAPPHIRE_RAPIDS), "") == "float32"


def test_this_machine_gets_a_valid_policy():
    assert mixed_precision_policy() in {"mixed_bfloat16", "mixed_float16", "float32"}
