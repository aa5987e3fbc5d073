"""The window's settings: a source typed as a relative path is remembered absolute, so that the window reopens
it when started from another folder."""

import os


def test_a_relative_source_is_remembered_absolute(tmp_path, monkeypatch):
    from vidcv.ui.settings import Settings

    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.remember_source(os.path.join("clips", "a.mp4"))
    monkeypatch.chdir(tmp_path / "clips")
    assert Settings().last_source == str(tmp_path / "clips" / "a.mp4")
    for spec in ("0", "pattern:", "rtsp://cam.local/stream", "missing.mp4"):
        settings.remember_source(spec)
        assert Settings().last_source == spec
