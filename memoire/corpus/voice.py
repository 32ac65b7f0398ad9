"""Mandarin voice clips for the vendor, knife-grinder and chatter recipes.

The clips are spoken once by espeak-ng (voice ``cmn-latn-pinyin``: it reads tone-numbered
pinyin; the plain ``cmn`` voice misreads Hanzi) and committed as small FLAC files in
``assets/corpus/voice/``. Corpus generation only *reads* them, so neither training nor the
game needs espeak-ng. ``render_voice_clips`` (``memoire corpus --render-voice``) re-speaks them.

File names: ``<role>_<phrase-id>_<espeak-variant>.flac`` with role ``vendor``, ``grinder`` or
``chatter``; the recipes pick clips by role prefix.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from memoire.world.errors import UserError

# espeak-ng writes 22 050 Hz WAV; the clips are stored at that rate (half the corpus rate)
# because espeak's output has nothing above 11 kHz anyway.
ESPEAK_SAMPLE_RATE_HZ = 22_050
ESPEAK_VOICE = "cmn-latn-pinyin"

# Hawkers' calls heard in Beijing lanes (tone-numbered pinyin; 5 = neutral tone).
VENDOR_PHRASES = {
    "tanghulu": "bing1 tang2 hu2 lu2 lou5",        # candied haws on a stick
    "baishu": "kao3 bai2 shu3 lou5",               # roast sweet potatoes
    "polan": "shou1 po4 lan4 lou5",                # buying junk and scrap
    "baicai": "da4 bai2 cai4 lou5",                # Chinese cabbage
    "suannai": "lao3 bei3 jing1 suan1 nai3",       # old-Beijing yoghurt
    "doufu": "mai4 dou4 fu5 lou5",                 # tofu
    "shaobing": "re4 hu1 de5 shao1 bing3",         # hot sesame flatbread
}
# The knife-grinder's call: "grind scissors, sharpen cleavers".
GRINDER_PHRASES = {
    "mojianzi": "mo2 jian3 zi5 lai2, qiang1 cai4 dao1",
    "modao": "mo2 dao1 lou5",
}
# Everyday neighbour talk; heavily blurred into babble by the chatter recipe.
CHATTER_PHRASES = {
    "chile": "ni3 chi1 le5 ma5? chi1 le5, chi1 le5.",
    "tianqi": "jin1 tian1 tian1 qi4 zhen1 bu2 cuo4 a5",
    "houhai": "zan2 men5 qu4 hou4 hai3 zhuan4 zhuan4 ba5",
    "duoshao": "ni3 kan4 zhe4 ge4 duo1 shao3 qian2",
    "kanjian": "wo3 gang1 cai2 kan4 jian4 ta1 le5",
    "gou": "lao3 wang2 jia1 de5 gou3 you4 pao3 le5",
    "xiayu": "ming2 tian1 xia4 yu3 ma5? bu4 zhi1 dao4.",
    "fangxue": "hai2 zi5 men5 dou1 fang4 xue2 le5",
    "hutong": "zhe4 ge4 hu2 tong4 you3 ji3 bai3 nian2 le5",
    "chifan": "zou3 ba5, zan2 men5 chi1 fan4 qu4",
}

# (role, phrases, [(espeak variant, words per minute, pitch 0-99)]). Hawkers call slowly and
# high; talk is quicker and spread over men's and women's voices.
VOICE_PLAN = (
    ("vendor", VENDOR_PHRASES, [("m3", 115, 62), ("f2", 120, 55)]),
    ("grinder", GRINDER_PHRASES, [("m1", 110, 58), ("m7", 120, 45)]),
    ("chatter", CHATTER_PHRASES, [("m2", 175, 45), ("f4", 185, 55)]),
)


def render_voice_clips(out_dir: Path) -> list[Path]:
    """Speak every phrase with espeak-ng into ``out_dir`` as 16-bit FLAC; returns the files.

    Raises UserError when espeak-ng is not installed.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise UserError("espeak-ng is not installed; it is only needed to re-speak the voice clips "
                        "(apt-get install espeak-ng). The committed clips in "
                        "assets/corpus/voice/ are enough to generate the corpus.")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for role, phrases, variants in VOICE_PLAN:
            for phrase_id, pinyin in phrases.items():
                for variant, words_per_min, pitch in variants:
                    wav_path = Path(tmp) / "clip.wav"
                    subprocess.run([espeak, "-v", f"{ESPEAK_VOICE}+{variant}", "-s", str(words_per_min),
                                    "-p", str(pitch), "-w", str(wav_path), pinyin],
                                   check=True, capture_output=True)
                    audio, rate_hz = sf.read(wav_path, dtype="float64")
                    audio = _trim_silence(audio)
                    out_path = out_dir / f"{role}_{phrase_id}_{variant}.flac"
                    sf.write(out_path, audio, rate_hz, subtype="PCM_16", format="FLAC")
                    written.append(out_path)
    return written


def _trim_silence(audio: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0]:loud[-1] + 1] if loud.size else audio


def load_voice_clips(voice_dir: Path, role: str, sample_rate_hz: int) -> list[np.ndarray]:
    """All clips of one role, in file-name order, resampled to ``sample_rate_hz`` (float64).

    Raises UserError when the folder or the role's clips are missing.
    """
    paths = sorted(Path(voice_dir).glob(f"{role}_*.flac"))
    if not paths:
        raise UserError(f"no '{role}_*.flac' voice clips in {voice_dir}: the vendors, grinder and "
                        "chatter recipes read them. Restore assets/corpus/voice/ from git, or "
                        "re-speak them with 'memoire corpus --render-voice' (needs espeak-ng).")
    clips = []
    for path in paths:
        audio, rate_hz = sf.read(path, dtype="float64", always_2d=True)
        audio = audio.mean(axis=1)
        if rate_hz != sample_rate_hz:
            g = np.gcd(int(rate_hz), int(sample_rate_hz))
            audio = signal.resample_poly(audio, sample_rate_hz // g, int(rate_hz) // g)
        clips.append(audio)
    return clips
