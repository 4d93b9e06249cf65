import gtn


def test_errors_are_exported_and_related():
    assert issubclass(gtn.CorruptionError, gtn.GTNError)
    assert issubclass(gtn.CorruptionError, ValueError)
    assert issubclass(gtn.UnsupportedError, NotImplementedError)
    assert gtn.__version__
