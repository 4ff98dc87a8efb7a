-- Decimal ids (Gmail history ids, unsigned 64-bit) travel as canonical strings: digits, no
-- leading zero, at most 18446744073709551615. Lua numbers are doubles, so they are compared as
-- text: by length, then digit by digit.
local function canonical_decimal(s)
  if type(s) ~= 'string' or not string.match(s, '^[1-9]%d*$') or #s > 20 then return false end
  return #s < 20 or s <= '18446744073709551615'
end

local function newer(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
