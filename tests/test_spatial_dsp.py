"""The spatial DSP (memoire/audio/spatial/) measured the way a listener or an installer would
check it: which ear and which speaker a source comes from, whether moving it clicks, how long a
room rings. Binaural tests need the packaged HRTF (apt-get install libopenal-data)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memoire.world.errors import UserError
from memoire.audio.spatial import (LAYOUTS, Hrtf, Panner, RoomParams, RoomReverb, Spatializer, decay_time_s,
                                   default_hrtf_path, irs_key, layout_channels, load_irs, room_ir, room_irs,
                                   sabine_rt60_s, save_irs)
from memoire.audio.spatial.measure import ild_db, itd_s, max_jump

rate = 44100
block = 2048
open_hz = rate / 2
needs_hrtf = pytest.mark.skipif(not default_hrtf_path(rate).exists(),
                                reason="no HRTF: apt-get install libopenal-data")


def render(sp: Spatializer, blocks: int, az_of_block, gain_of_block=lambda b: 1.0, lp_hz=open_hz, seed=0,
           source=None) -> tuple[np.ndarray, np.ndarray]:
    """One noise source (or ``source``, (blocks * block,)) through ``sp``: (input, output)."""
    rng = np.random.default_rng(seed)
    src = source if source is not None else (0.1 * rng.standard_normal(blocks * block)).astype(np.float32)
    out = np.zeros((block, sp.channels), np.float32)
    ys = []
    for b in range(blocks):
        sp.process(src[None, b * block:(b + 1) * block], np.array([az_of_block(b)]), np.array([gain_of_block(b)]),
                   np.array([lp_hz]), out)
        ys.append(out.copy())
    return src, np.concatenate(ys)


@needs_hrtf
def test_the_packaged_hrtf_reads_as_mit_kemar():
    h = Hrtf.load()
    assert h.sample_rate_hz == rate
    assert len(h.rings) == 19 and h.rings[9].count == 72  # 10-degree rings, 5-degree steps at ear height
    assert abs(h.rings[9].elevation_rad) < 1e-9
    assert h.hrir(0.3).shape == (2, h.taps)


def test_a_missing_hrtf_says_which_package_to_install(tmp_path):
    with pytest.raises(UserError, match="apt-get install libopenal-data"):
        Hrtf.load(tmp_path / "nothing.mhr")
    bad = tmp_path / "bad.mhr"
    bad.write_bytes(b"RIFF0000")
    with pytest.raises(UserError, match="MinPHR02"):
        Hrtf.load(bad)


@needs_hrtf
def test_binaural_level_and_time_differences_point_to_the_source_and_grow_to_the_side():
    sp = Spatializer("binaural", rate, 17, block)
    ild, itd = {}, {}
    for deg in (0, 45, -45, 90, -90, 135, 180):
        sp.reset_slot(0)
        _, y = render(sp, 10, lambda b: math.radians(deg), seed=deg % 7)
        y = y[2 * block:]
        ild[deg] = ild_db(y[:, 0], y[:, 1], rate, None)  # broadband
        itd[deg] = itd_s(y[:, 0], y[:, 1], rate)
    for deg in (45, 90, 135):
        assert ild[deg] > 6, (deg, ild)
        assert itd[deg] > 0.2e-3, (deg, itd)
    assert ild[-45] < -6 and ild[-90] < -6 and itd[-45] < -0.2e-3 and itd[-90] < -0.2e-3
    assert ild[45] < ild[90] and itd[45] < itd[90] < 1.0e-3  # grows with the bearing up to 90 degrees
    assert itd[-45] > itd[-90]
    for deg in (0, 180):  # the median plane: no interaural cues to speak of
        assert abs(ild[deg]) < 1.0 and abs(itd[deg]) < 0.05e-3, (deg, ild[deg], itd[deg])


def nearest_speakers(name: str, deg: float) -> set[int]:
    speakers = LAYOUTS[name].speakers_deg
    if name == "stereo" and abs(deg) > 90:  # two front speakers: a rear source is folded to the front
        deg = math.copysign(180 - abs(deg), deg)
    dist = {i: abs((deg - a + 180) % 360 - 180) for i, a in enumerate(speakers) if a is not None}
    best = min(dist.values())
    return {i for i, d in dist.items() if d <= best + 1e-9}


@pytest.mark.parametrize("name", ["stereo", "quad", "5.1", "ring8"])
def test_the_loudest_speaker_is_the_one_nearest_the_bearing(name):
    sp = Spatializer(name, rate, 17, block)
    for deg in (0, 45, -45, 90, -90, 135, 180, 20, -160):
        sp.reset_slot(0)
        _, y = render(sp, 4, lambda b: math.radians(deg))
        rms = np.sqrt((y[block:] ** 2).mean(axis=0))
        loud = int(np.argmax(rms))
        near = nearest_speakers(name, deg)
        if name == "stereo" and deg in (0, 180):
            assert abs(rms[0] - rms[1]) < 0.02 * rms.max()
        else:
            assert loud in near, (name, deg, rms.round(4), near)
        if "5.1" == name:
            assert rms[3] == 0.0  # the LFE stays silent


@pytest.mark.parametrize("name", ["stereo", "quad", "5.1", "ring8"])
def test_panning_keeps_the_power(name):
    g = Panner(name).gains(np.linspace(-math.pi, math.pi, 721))
    assert np.allclose((g ** 2).sum(axis=1), 1.0, atol=1e-9)
    assert (g >= 0).all()
    assert layout_channels(name) == g.shape[1]


@pytest.mark.parametrize("name", ["binaural", "stereo", "ring8"])
def test_a_moving_source_never_jumps_more_than_a_still_one(name):
    if name == "binaural" and not default_hrtf_path(rate).exists():
        pytest.skip("no HRTF")
    t = np.arange(24 * block) / rate
    tone = (0.5 * np.sin(2 * math.pi * 300 * t)).astype(np.float32)
    sp = Spatializer(name, rate, 17, block)
    still = 0.0
    for deg in range(-180, 180, 15):
        sp.reset_slot(0)
        _, y = render(sp, 3, lambda b: math.radians(deg), source=tone)
        still = max(still, max_jump(y[block:]))
    # one turn in a second, then a jump across the head (a teleport) and a gain step
    sp.reset_slot(0)
    az = lambda b: 2 * math.pi * b * block / rate if b < 16 else (math.pi / 2 if b % 2 else -math.pi / 2)
    gain = lambda b: 1.0 if b < 20 else (0.0 if b % 2 else 1.0)
    _, y = render(sp, 24, az, gain, source=tone)
    assert max_jump(y[block:]) <= 1.05 * still, (max_jump(y), still)


def test_the_lowpass_darkens_and_open_is_untouched():
    sp = Spatializer("stereo", rate, 4, block)
    src, open_ = render(sp, 6, lambda b: 0.0, lp_hz=open_hz)
    # after the first block (the fade-in of a new slot) the open filter passes the source untouched
    assert np.allclose(open_[block:, 0], src[block:] * math.sqrt(0.5), atol=1e-6)

    def centroid(x):
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / rate)
        return float((spec * f).sum() / spec.sum())

    sp.reset_slot(0)
    _, dark = render(sp, 6, lambda b: 0.0, lp_hz=800.0)
    assert centroid(dark[block:, 0]) < 0.3 * centroid(open_[block:, 0])


def test_room_decay_times_match_their_designs():
    lane = dict(size_m=(40.0, 4.0, 6.0), rt60_s=1.4)  # closed and long: designer-set RT60
    yard = dict(size_m=(8.0, 8.0, 5.0), absorption=0.05, open_top=True)  # small, open to the sky
    ir_lane = room_ir(sample_rate_hz=rate, seed=1, **lane)
    ir_yard = room_ir(sample_rate_hz=rate, seed=2, **yard)
    design_yard = sabine_rt60_s(yard["size_m"], 0.05, True)
    t_lane, t_yard = decay_time_s(ir_lane, rate), decay_time_s(ir_yard, rate)
    assert abs(t_lane / 1.4 - 1) < 0.2, t_lane
    assert abs(t_yard / design_yard - 1) < 0.2, (t_yard, design_yard)
    assert t_yard < t_lane
    for ir in (ir_lane, ir_yard):
        assert len(ir) <= 2.0 * rate and ir.dtype == np.float32
        assert abs(float((ir.astype(np.float64) ** 2).sum()) - 1) < 1e-4  # unit energy
        assert abs(ir[0]) < 1e-6  # no direct sound
    again = room_ir(sample_rate_hz=rate, seed=1, **lane)
    assert np.array_equal(again, ir_lane)


def test_reverb_streams_the_convolution_decorrelated_and_skips_the_lfe():
    irs = room_irs([RoomParams((12.0, 9.0, 6.0), rt60_s=0.6, seed=3), RoomParams((6.0, 5.0, 4.0), absorption=0.2)], rate)
    rv = RoomReverb(irs, rate, block, 6, silent_channels=LAYOUTS["5.1"].silent_channels)
    rng = np.random.default_rng(5)
    nb = 30
    sends = (0.1 * rng.standard_normal((2, nb * block))).astype(np.float32)
    out = np.zeros((block, 6), np.float32)
    ys = []
    for b in range(nb):
        out[:] = 0.0
        rv.process(sends[:, b * block:(b + 1) * block], out)
        ys.append(out.copy())
    y = np.concatenate(ys)
    n = nb * block
    want = [sum(np.convolve(sends[r], irs[r][v])[:n] for r in range(2)) * math.sqrt(2 / 5) for v in range(2)]
    assert np.allclose(y[:, 0], want[0], atol=1e-4) and np.allclose(y[:, 1], want[1], atol=1e-4)
    assert np.allclose(y[:, 2], want[0], atol=1e-4)  # live channels alternate the realisations
    assert not y[:, 3].any()  # LFE
    corr = np.corrcoef(y[block * 10:, 0], y[block * 10:, 1])[0, 1]
    assert abs(corr) < 0.3, corr


def test_the_ir_cache_round_trips_and_refuses_another_key(tmp_path):
    params = [RoomParams((10.0, 6.0, 5.0), rt60_s=0.5)]
    irs = room_irs(params, rate)
    key = irs_key(params, rate)
    path = tmp_path / "rooms.npz"
    save_irs(path, key, irs)
    back = load_irs(path, key)
    assert back is not None and np.array_equal(back[0], irs[0])
    assert load_irs(path, irs_key([RoomParams((10.0, 6.0, 5.0), rt60_s=0.6)], rate)) is None
    assert load_irs(tmp_path / "none.npz", key) is None
    path.write_bytes(b"garbage")
    assert load_irs(path, key) is None
