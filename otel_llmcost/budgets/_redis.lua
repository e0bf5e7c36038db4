-- Budget store scripts for Redis. _redis.py splits this file at the "--@@ name" lines and
-- prepends the shared part to each script, so each operation is ONE atomic script.
--
-- A budget key is a hash:
--   su, st        spent USD nanos / tokens (running sums; for rolling keys, of the live buckets)
--   ru, rt        reserved USD nanos / tokens (the sum of the x: holds)
--   x:<rid>       one reservation's hold on this key: "usd tokens lease_end_ms"
--   me            no hold can have expired before this (ms); holds are scanned only after it
--   ex            the expiry last armed, in the caller's clock (ms): PEXPIRE is skipped while
--                 a new expiry stays within 1% of the TTL of it
--   bs, nb, fb    rolling keys: bucket seconds, bucket count, oldest live bucket index
--   u:<b>, t:<b>  rolling keys: spend of bucket b (b = floor(unix seconds / bs))
--   d:<seed id>   seeds applied (they live exactly as long as the spend they added)
-- A reservation record (its own key, expiring lease + grace after the reserve) is the cjson
-- list {{key, ttl_ms, bs, nb}, ...}, then "done" once settled or released.
--
-- Speed: each key is read with ONE HMGET and written with ONE HSET of absolute values (plus a
-- PEXPIRE when the expiry moves); sums are computed here, and each charge's numbers arrive as
-- one space-separated argument (packing many small arguments costs the client more).
-- Amounts are exact while below 2^53 (Lua numbers are doubles) and written with %d, because
-- Redis would store a large Lua number as "1e+15".

local function int(n) return string.format('%d', n) end

-- The key's state {su, st, ru, rt, me, bs, nb, fb, extra, exists = bool, ex}, after dropping
-- expired holds and rolling buckets that slid out of the window (written back at once: rare).
-- ``extra`` is one more field to read (this reservation's hold, or a seed marker).
local function load(key, now, extra)
  local v = redis.call('HMGET', key, 'su', 'st', 'ru', 'rt', 'me', 'bs', 'nb', 'fb', 'ex', extra or 'su')
  local s = {tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0,
             tonumber(v[5]), tonumber(v[6]), tonumber(v[7]), tonumber(v[8]), extra and v[10]}
  s.exists, s.ex = v[1] ~= false or v[3] ~= false, tonumber(v[9])
  if s[5] and s[5] <= now then
    local all, min = redis.call('HGETALL', key), nil
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'x:' then
        local u, t, e = string.match(all[i + 1], '^(%d+) (%d+) (%d+)$')
        if tonumber(e) <= now then
          redis.call('HDEL', key, all[i])
          s[3], s[4] = s[3] - tonumber(u), s[4] - tonumber(t)
          if all[i] == extra then s[9] = false end
        elseif min == nil or tonumber(e) < min then
          min = tonumber(e)
        end
      end
    end
    s[5] = min
    redis.call('HSET', key, 'ru', int(s[3]), 'rt', int(s[4]))
    if min then redis.call('HSET', key, 'me', int(min)) else redis.call('HDEL', key, 'me') end
  end
  if s[6] then
    local oldest = math.floor(now / (s[6] * 1000)) - s[7] + 1
    if oldest > s[8] then
      -- every bucket field lies in [fb, fb + nb - 1]: evict at most nb of them
      for b = s[8], math.min(oldest - 1, s[8] + s[7] - 1) do
        local bu, bt = 'u:' .. int(b), 't:' .. int(b)
        local old = redis.call('HMGET', key, bu, bt)
        s[1], s[2] = s[1] - (tonumber(old[1]) or 0), s[2] - (tonumber(old[2]) or 0)
        redis.call('HDEL', key, bu, bt)
      end
      s[8] = oldest
      redis.call('HSET', key, 'su', int(s[1]), 'st', int(s[2]), 'fb', int(oldest))
    end
  end
  return s
end

-- HSET arguments for the four sums, plus the rolling layout when this write creates it.
local function sums(s, now, bs, nb)
  local fields = {'su', int(s[1]), 'st', int(s[2]), 'ru', int(s[3]), 'rt', int(s[4])}
  if s[6] == nil and bs > 0 then
    s[6], s[7], s[8] = bs, nb, math.floor(now / (bs * 1000)) - nb + 1
    for _, f in ipairs({'bs', int(bs), 'nb', int(nb), 'fb', int(s[8])}) do fields[#fields + 1] = f end
  end
  return fields
end

-- Add spend now: to the sums (caller writes them) and, when rolling, to the current bucket.
local function spend(key, s, usd, tokens, now)
  s[1], s[2] = s[1] + usd, s[2] + tokens
  if s[6] then
    local b = int(math.floor(now / (s[6] * 1000)))
    redis.call('HINCRBY', key, 'u:' .. b, int(usd))
    redis.call('HINCRBY', key, 't:' .. b, int(tokens))
  end
end

-- Write ``fields`` (from sums) to the key and arm its expiry ``ttl`` ms from now (-1: keep).
-- A calendar window's expiry (its end + grace) does not move, so it is armed once; an idle
-- key's moves with every write and is re-armed when it has moved by 1% of the TTL.
local function write(key, s, fields, ttl, now)
  local at = now + ttl
  local arm = ttl >= 0 and (s.ex == nil or at < s.ex or at - s.ex > ttl / 100)
  if arm then fields[#fields + 1], fields[#fields + 2] = 'ex', int(at) end
  redis.call('HSET', key, unpack(fields))
  if arm then redis.call('PEXPIRE', key, int(ttl)) end
end

-- Drop reservation ``rid`` from the keys of its record and add ``actual`` ({key = {usd,
-- tokens}} in ``order``); keys not in the record get the rolling layout they already have, and
-- ``orphan_ttl`` when they no longer exist.
local function finish(record, rid, now, order, actual, orphan_ttl)
  local specs = {}
  for _, spec in ipairs(record) do
    specs[spec[1]] = spec
    if actual[spec[1]] == nil then order[#order + 1] = spec[1] end
  end
  for _, key in ipairs(order) do
    local spec, amount, hold = specs[key], actual[key], 'x:' .. rid
    local s = load(key, now, spec and hold)
    if s[9] then
      local u, t = string.match(s[9], '^(%d+) (%d+) ')
      s[3], s[4] = s[3] - tonumber(u), s[4] - tonumber(t)
      redis.call('HDEL', key, hold)
    end
    if amount and (s.exists or amount[1] > 0 or amount[2] > 0) then
      local ttl, bs, nb = -1, 0, 0
      if spec then ttl, bs, nb = spec[2], spec[3], spec[4] elseif not s.exists then ttl = orphan_ttl end
      local fields = sums(s, now, bs, nb)
      spend(key, s, amount[1], amount[2], now)
      fields[2], fields[4] = int(s[1]), int(s[2])
      write(key, s, fields, ttl, now)
    elseif s[9] then
      redis.call('HSET', key, 'ru', int(s[3]), 'rt', int(s[4]))
    end
  end
end

--@@ reserve
-- KEYS: record, budget keys...   ARGV: now_ms, lease_end_ms, rid, record_ttl_ms, then per key
-- one string "usd tokens limit_usd limit_tokens enforce ttl_ms bs nb" (-1: no limit / no TTL).
-- Returns {ok, refused index (0 when ok), su1, st1, ru1, rt1, su2, ...}.
local now, lease_end, rid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local n = #KEYS - 1
local states, charges, out = {}, {}, {1, 0}
for i = 1, n do
  states[i] = load(KEYS[i + 1], now)
  local c = {}
  for x in string.gmatch(ARGV[4 + i], '%S+') do c[#c + 1] = x end
  charges[i] = c
end
if redis.call('EXISTS', KEYS[1]) == 0 then  -- else: a retried call that already reserved
  for i = 1, n do
    local c, s = charges[i], states[i]
    if c[5] == '1' then
      local lu, lt = tonumber(c[3]), tonumber(c[4])
      if (lu >= 0 and s[1] + s[3] + tonumber(c[1]) > lu)
          or (lt >= 0 and s[2] + s[4] + tonumber(c[2]) > lt) then
        out = {0, i}
        break
      end
    end
  end
  if out[1] == 1 then
    local record = {}
    for i = 1, n do
      local key, c, s = KEYS[i + 1], charges[i], states[i]
      local ttl, bs, nb = tonumber(c[6]), tonumber(c[7]), tonumber(c[8])
      s[3], s[4] = s[3] + tonumber(c[1]), s[4] + tonumber(c[2])
      local fields = sums(s, now, bs, nb)
      fields[#fields + 1], fields[#fields + 2] = 'x:' .. rid, c[1] .. ' ' .. c[2] .. ' ' .. ARGV[2]
      if s[5] == nil or lease_end < s[5] then
        fields[#fields + 1], fields[#fields + 2] = 'me', ARGV[2]
      end
      write(key, s, fields, ttl, now)
      record[i] = {key, ttl, bs, nb}
    end
    redis.call('SET', KEYS[1], cjson.encode(record), 'PX', ARGV[4])
  end
end
for i = 1, n do
  local s = states[i]
  out[#out + 1], out[#out + 2], out[#out + 3], out[#out + 4] = s[1], s[2], s[3], s[4]
end
return out

--@@ settle
-- KEYS: record, spent keys...   ARGV: now_ms, rid, done_retention_ms, orphan_ttl_ms,
-- "usd tokens usd tokens ..." (one pair per spent key). Returns 1, or 0 when this reservation
-- was already settled or released.
local record = redis.call('GET', KEYS[1])
if record == 'done' then return 0 end
local order, actual, amounts = {}, {}, {}
for x in string.gmatch(ARGV[5] or '', '%S+') do amounts[#amounts + 1] = tonumber(x) end
for i = 2, #KEYS do
  local key, u, t = KEYS[i], amounts[2 * i - 3], amounts[2 * i - 2]
  if actual[key] then
    actual[key] = {actual[key][1] + u, actual[key][2] + t}
  else
    order[#order + 1], actual[key] = key, {u, t}
  end
end
finish(record and cjson.decode(record) or {}, ARGV[2], tonumber(ARGV[1]), order, actual, tonumber(ARGV[4]))
if record then
  redis.call('SET', KEYS[1], 'done', 'KEEPTTL')
else
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[3])
end
return 1

--@@ release
-- KEYS: record   ARGV: now_ms, rid. Returns 1, or 0 when unknown or already done.
local record = redis.call('GET', KEYS[1])
if record == false or record == 'done' then return 0 end
finish(cjson.decode(record), ARGV[2], tonumber(ARGV[1]), {}, {}, -1)
redis.call('SET', KEYS[1], 'done', 'KEEPTTL')
return 1

--@@ add
-- KEYS: key   ARGV: now_ms, usd, tokens, ttl_ms (-1), bs, nb, seed field ('' for a plain add).
-- Returns {applied, su, st, ru, rt}.
local key, now, seed = KEYS[1], tonumber(ARGV[1]), ARGV[7] ~= '' and ARGV[7] or nil
local s = load(key, now, seed)
if s[9] then return {0, s[1], s[2], s[3], s[4]} end
local fields = sums(s, now, tonumber(ARGV[5]), tonumber(ARGV[6]))
spend(key, s, tonumber(ARGV[2]), tonumber(ARGV[3]), now)
fields[2], fields[4] = int(s[1]), int(s[2])
if seed then fields[#fields + 1], fields[#fields + 2] = seed, '1' end
write(key, s, fields, tonumber(ARGV[4]), now)
return {1, s[1], s[2], s[3], s[4]}

--@@ state
-- KEYS: keys   ARGV: now_ms. Returns {su1, st1, ru1, rt1, su2, ...}.
local out = {}
for i = 1, #KEYS do
  local s = load(KEYS[i], tonumber(ARGV[1]))
  out[#out + 1], out[#out + 2], out[#out + 3], out[#out + 4] = s[1], s[2], s[3], s[4]
end
return out
